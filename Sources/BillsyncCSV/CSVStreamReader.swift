/// One record as it was written: its fields' bytes (not yet decoded: the source's encoding
/// decides how), where each field starts in the file, and the row's own bytes (its line end
/// excluded) for a dead letter that must carry the row a person has to fix.
public struct CSVRawRecord: Sendable, Equatable {
    /// The line the record starts on (a quoted field may span lines).
    public let line: Int
    public let fields: [[UInt8]]
    /// The byte offset in the file of each field's first content byte (after an opening quote).
    public let fieldOffsets: [Int]
    public let bytes: [UInt8]

    public init(line: Int, fields: [[UInt8]], fieldOffsets: [Int], bytes: [UInt8]) {
        self.line = line
        self.fields = fields
        self.fieldOffsets = fieldOffsets
        self.bytes = bytes
    }

    /// A line with nothing on it but spaces or tabs: skipped, never refused.
    public var isBlank: Bool { bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 } }
}

/// An RFC 4180 reader over a byte source read in chunks: a file of any size in constant memory.
/// The delimiter is the source's (`,`, `;`, tab, `|`); CRLF or LF line ends; quoted fields with
/// delimiters, doubled quotes and line breaks; a UTF-8 byte-order mark skipped when asked. A
/// malformed quote is an error naming the line and column, and reading goes on at the next line:
/// the caller decides whether one bad record stops the file.
public struct CSVStreamReader<Source: CSVByteSource> {
    private var source: Source
    private var buffer: [UInt8] = []
    private var index = 0
    /// The file offset of `buffer[0]`.
    private var bufferOffset = 0
    private var exhausted = false
    private var line = 1
    public let delimiter: UInt8
    /// The longest record read: beyond it (most often an unclosed quote swallowing the rest of
    /// the file) the record is refused and reading goes on at the next line, so memory stays
    /// bounded and a dead letter stays under the broker's message size.
    public let maximumRecordBytes: Int

    public init(source: Source, delimiter: UInt8 = UInt8(ascii: ","), skippingUTF8BOM: Bool = true,
                maximumRecordBytes: Int = 512 * 1024) throws(Source.Failure) {
        self.source = source
        self.delimiter = delimiter
        self.maximumRecordBytes = maximumRecordBytes
        if skippingUTF8BOM {
            while buffer.count < 3, !exhausted { try refill() }
            if buffer.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        }
    }

    private mutating func refill() throws(Source.Failure) {
        let chunk = try source.nextChunk()
        if chunk.isEmpty {
            exhausted = true
            return
        }
        if index >= buffer.count {
            bufferOffset += buffer.count
            buffer = chunk
            index = 0
        } else {
            buffer += chunk
        }
    }

    /// The byte at the read position, refilling the buffer as needed; nil at the end.
    private mutating func peek() throws(Source.Failure) -> UInt8? {
        while index >= buffer.count {
            if exhausted { return nil }
            try refill()
        }
        return buffer[index]
    }

    private var position: Int { bufferOffset + index }

    /// The next record, a `CSVError` for a malformed one, or nil at the end of the source.
    public mutating func next() throws(Source.Failure) -> Result<CSVRawRecord, CSVError>? {
        guard try peek() != nil else { return nil }
        let start = line
        var fields: [[UInt8]] = []
        var offsets: [Int] = [position]
        var field: [UInt8] = []
        var raw: [UInt8] = []
        var column = 1
        var quoted = false
        var afterQuote = false
        func record() -> CSVRawRecord {
            CSVRawRecord(line: start, fields: fields, fieldOffsets: offsets, bytes: raw)
        }
        while let byte = try peek() {
            index += 1
            if raw.count >= maximumRecordBytes {
                let reason = "the record is longer than \(maximumRecordBytes) bytes" + (quoted ? " (a quote opened in column \(column) is never closed?)" : "")
                quoted = false
                if byte == 0x0A { line += 1 } else { try discardToNextLine() }
                return .failure(CSVError(line: start, column: column, reason: reason, bytes: raw))
            }
            if quoted {
                raw.append(byte)
                if byte == UInt8(ascii: "\"") {
                    if try peek() == UInt8(ascii: "\"") {
                        index += 1
                        raw.append(byte)
                        field.append(byte)
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
            case delimiter:
                raw.append(byte)
                fields.append(field)
                offsets.append(position)
                field = []
                column += 1
                afterQuote = false
            case 0x0D where try peek() == 0x0A:
                index += 1
                line += 1
                fields.append(field)
                return .success(record())
            case 0x0A:
                line += 1
                fields.append(field)
                return .success(record())
            case UInt8(ascii: "\"") where field.isEmpty && !afterQuote:
                raw.append(byte)
                quoted = true
                offsets[offsets.count - 1] = position
            default:
                raw.append(byte)
                if afterQuote || byte == UInt8(ascii: "\"") {
                    let errorLine = line
                    try skipToNextLine(into: &raw)
                    return .failure(CSVError(line: errorLine, column: column, reason: "a quote inside an unquoted field, or text after a closing quote",
                                             bytes: raw))
                }
                field.append(byte)
            }
        }
        if quoted {
            return .failure(CSVError(line: start, column: column, reason: "a quoted field is not closed before the end of the file", bytes: raw))
        }
        fields.append(field)
        return .success(record())
    }

    private mutating func discardToNextLine() throws(Source.Failure) {
        while let byte = try peek() {
            index += 1
            if byte == 0x0A {
                line += 1
                return
            }
        }
    }

    private mutating func skipToNextLine(into raw: inout [UInt8]) throws(Source.Failure) {
        while let byte = try peek() {
            index += 1
            if byte == 0x0A {
                line += 1
                if raw.last == 0x0D { raw.removeLast() }
                return
            }
            raw.append(byte)
        }
    }
}
