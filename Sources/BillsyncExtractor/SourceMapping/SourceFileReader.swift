import BillsyncCSV
import Foundation

/// A file's bytes as the source declares them: UTF-16 transcoded to UTF-8 on the way, anything
/// else as it is (single-byte encodings are decoded field by field).
public enum SourceBytes: CSVByteSource {
    public enum Raw: CSVByteSource {
        case file(FileBytes)
        case memory(InMemoryBytes)

        public mutating func nextChunk() throws(CSVSourceError) -> [UInt8] {
            switch self {
            case var .file(bytes):
                defer { self = .file(bytes) }
                return try bytes.nextChunk()
            case var .memory(bytes):
                defer { self = .memory(bytes) }
                return bytes.nextChunk()
            }
        }
    }

    case plain(Raw)
    case utf16(UTF16ToUTF8<Raw>)

    init(_ raw: Raw, encoding: TextEncoding) {
        self = encoding == .utf16 ? .utf16(UTF16ToUTF8(raw)) : .plain(raw)
    }

    public mutating func nextChunk() throws(CSVSourceError) -> [UInt8] {
        switch self {
        case var .plain(bytes):
            defer { self = .plain(bytes) }
            return try bytes.nextChunk()
        case var .utf16(bytes):
            defer { self = .utf16(bytes) }
            return try bytes.nextChunk()
        }
    }
}

/// Reads one file by its source's mapping, a row at a time: the header first (a missing required
/// column fails the file), then for each row the records it yields or why it is refused, with the
/// row's bytes as written. Blank lines are skipped. Memory stays constant whatever the file's size.
public struct SourceFileReader {
    public enum Row {
        case records([ExportRecord], CSVRawRecord)
        /// A refused row and its bytes as the file had them.
        case refused(RowRejection, row: [UInt8])
    }

    private var reader: CSVStreamReader<SourceBytes>
    public let mapper: SourceRowMapper

    /// Opens `url` (or reads `bytes`) as `source` declares; throws `RowRejection` when the header
    /// is missing or lacks a required column, `CSVSourceError` when the bytes cannot be read.
    public init(url: URL? = nil, bytes: [UInt8]? = nil, name: String, source: SourceMappingDocument.Source) throws {
        let raw: SourceBytes.Raw
        if let url { raw = .file(try FileBytes(url: url)) } else { raw = .memory(InMemoryBytes(bytes ?? [])) }
        var reader = try CSVStreamReader(source: SourceBytes(raw, encoding: source.format.encoding), delimiter: source.format.delimiter,
                                         skippingUTF8BOM: source.format.encoding == .utf8)
        var header: CSVRawRecord?
        while header == nil, let next = try reader.next() {
            switch next {
            case let .success(record) where record.isBlank: continue
            case let .success(record): header = record
            case let .failure(error): throw RowRejection(file: name, line: error.line, column: error.column, field: "(header)", reason: error.reason)
            }
        }
        guard let header else { throw RowRejection(file: name, line: 1, column: 0, field: "(header)", reason: "the file has no header row") }
        mapper = try SourceRowMapper(source: source, header: header, file: name)
        self.reader = reader
    }

    /// The next row's outcome, or nil at the end of the file.
    public mutating func next() throws(CSVSourceError) -> Row? {
        while let next = try reader.next() {
            switch next {
            case let .success(row):
                if row.isBlank { continue }
                switch mapper.records(of: row) {
                case let .success(records): return .records(records, row)
                case let .failure(rejection): return .refused(rejection, row: row.bytes)
                }
            case let .failure(error):
                return .refused(RowRejection(file: mapper.file, line: error.line, column: error.column, field: "(row)", reason: error.reason),
                                row: error.bytes)
            }
        }
        return nil
    }
}
