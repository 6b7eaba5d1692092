import BillsyncCSV

/// A Bulk API upload read as a table: a header and rows of the same width. A row of another
/// width, or text that is not CSV, makes the upload malformed (the job fails, as Salesforce
/// fails a job whose data it cannot parse).
struct BulkCSV {
    var reader: CSVRecordReader

    init(bytes: [UInt8]) { reader = CSVRecordReader(bytes: bytes) }

    /// The header and rows; nil when there is no header.
    mutating func table() -> (header: [String], rows: [[String]])? {
        guard case let .success(header)? = reader.next() else { return nil }
        var rows: [[String]] = []
        while let next = reader.next() {
            if case let .success(record) = next, record.fields != [""] { rows.append(record.fields) }
        }
        return (header.fields, rows)
    }

    /// Why an upload cannot be processed (the job's `errorMessage`).
    struct Unreadable: Error {
        let message: String
    }

    /// The header and rows, or why the upload cannot be processed.
    mutating func strictTable() -> Result<(header: [String], rows: [[String]]), Unreadable> {
        guard case let .success(header)? = reader.next() else { return .failure(Unreadable(message: "InvalidBatch : no header row")) }
        var rows: [[String]] = []
        var line = 1
        while let next = reader.next() {
            line += 1
            switch next {
            case let .success(record):
                if record.fields == [""] { continue }
                guard record.fields.count == header.fields.count else {
                    return .failure(Unreadable(message: "ClientInputError : Wrong number of columns in row \(line): \(record.fields.count), the header has \(header.fields.count)"))
                }
                rows.append(record.fields)
            case .failure:
                return .failure(Unreadable(message: "ClientInputError : CSV parse error in row \(line)"))
            }
        }
        return .success((header.fields, rows))
    }
}
