/// Why a CSV document could not be read, and where.
public struct CSVError: Error, Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public let reason: String

    public init(line: Int, column: Int, reason: String) {
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String { "line \(line), column \(column): \(reason)" }
}

/// One record of a CSV document, with the line it starts on (quoted fields may span lines).
public struct CSVRecord: Sendable, Equatable {
    public let line: Int
    public let fields: [String]
}

/// An RFC 4180 reader: UTF-8 with or without a byte-order mark, CRLF or LF line ends, quoted
/// fields with commas, doubled quotes and line breaks. A malformed quote is an error naming the
/// line and column; the caller decides whether one bad record stops the file.
public struct CSVRecordReader: Sequence, IteratorProtocol {
    private let bytes: [UInt8]
    private var position = 0
    private var line = 1

    public init(bytes: [UInt8]) {
        self.bytes = bytes
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    }

    public init(text: String) {
        self.init(bytes: Array(text.utf8))
    }

    public var isAtEnd: Bool { position >= bytes.count }

    /// The next record, or a `CSVError` for it (reading continues at the next line).
    public mutating func next() -> Result<CSVRecord, CSVError>? {
        guard position < bytes.count else { return nil }
        let start = line
        var fields: [String] = []
        var field: [UInt8] = []
        var column = 1
        var quoted = false
        var afterQuote = false
        while position < bytes.count {
            let byte = bytes[position]
            if quoted {
                position += 1
                if byte == UInt8(ascii: "\"") {
                    if position < bytes.count, bytes[position] == UInt8(ascii: "\"") {
                        field.append(byte)
                        position += 1
                    } else {
                        quoted = false
                        afterQuote = true
                    }
                } else {
                    if byte == 0x0A { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: ","):
                fields.append(String(decoding: field, as: UTF8.self))
                field = []
                column += 1
                afterQuote = false
                position += 1
            case 0x0D where position + 1 < bytes.count && bytes[position + 1] == 0x0A:
                position += 2
                line += 1
                fields.append(String(decoding: field, as: UTF8.self))
                return .success(CSVRecord(line: start, fields: fields))
            case 0x0A:
                position += 1
                line += 1
                fields.append(String(decoding: field, as: UTF8.self))
                return .success(CSVRecord(line: start, fields: fields))
            case UInt8(ascii: "\"") where field.isEmpty && !afterQuote:
                quoted = true
                position += 1
            default:
                if afterQuote || byte == UInt8(ascii: "\"") {
                    let error = CSVError(line: line, column: column, reason: "a quote inside an unquoted field, or text after a closing quote")
                    skipToNextLine()
                    return .failure(error)
                }
                field.append(byte)
                position += 1
            }
        }
        if quoted {
            return .failure(CSVError(line: start, column: column, reason: "a quoted field is not closed before the end of the file"))
        }
        fields.append(String(decoding: field, as: UTF8.self))
        return .success(CSVRecord(line: start, fields: fields))
    }

    private mutating func skipToNextLine() {
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            if byte == 0x0A {
                line += 1
                return
            }
        }
    }
}
