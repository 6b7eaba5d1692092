/// Why a CSV document could not be read, and where.
public struct CSVError: Error, Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public let reason: String

    /// The malformed record's bytes as written, for its dead letter.
    public let bytes: [UInt8]

    public init(line: Int, column: Int, reason: String, bytes: [UInt8] = []) {
        self.line = line
        self.column = column
        self.reason = reason
        self.bytes = bytes
    }

    public var description: String { "line \(line), column \(column): \(reason)" }
}

/// One record of a CSV document, with the line it starts on (quoted fields may span lines).
public struct CSVRecord: Sendable, Equatable {
    public let line: Int
    public let fields: [String]
}

/// An RFC 4180 reader over bytes in memory, its fields decoded as UTF-8 (a Bulk API result,
/// sample data, a lookup table): `CSVStreamReader` with strings.
public struct CSVRecordReader: Sequence, IteratorProtocol {
    private var reader: CSVStreamReader<InMemoryBytes>
    private var ended = false

    public init(bytes: [UInt8]) {
        reader = CSVStreamReader(source: InMemoryBytes(bytes))
    }

    public init(text: String) {
        self.init(bytes: Array(text.utf8))
    }

    /// The next record, or a `CSVError` for it (reading continues at the next line).
    public mutating func next() -> Result<CSVRecord, CSVError>? {
        reader.next().map { result in
            result.map { CSVRecord(line: $0.line, fields: $0.fields.map { String(decoding: $0, as: UTF8.self) }) }
        }
    }
}
