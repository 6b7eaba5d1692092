import BillsyncCSV
import Foundation

/// An export file's columns found by header name: any order, any case, surrounding spaces
/// ignored, extra columns allowed. Reads one row's trimmed values by column name and words a
/// refusal with the file, line, column and field. Every export mapping reads its rows through it.
struct CSVHeaderColumns: Sendable {
    private let indices: [String: Int]
    let width: Int
    let file: String

    /// Fails (the whole file) when a required column is missing.
    init(header: CSVRecord, file: String, required: [String]) throws(RowRejection) {
        var indices: [String: Int] = [:]
        for (index, name) in header.fields.enumerated() {
            indices[name.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()] = index
        }
        for column in required where indices[column.lowercased()] == nil {
            throw RowRejection(file: file, line: header.line, column: 0, field: column, reason: "the header has no \(column) column")
        }
        self.indices = indices
        width = header.fields.count
        self.file = file
    }

    /// One row, read by column name.
    struct Row {
        let columns: CSVHeaderColumns
        let record: CSVRecord

        /// The trimmed value; nil when the column is absent or the value empty.
        func value(_ column: String) -> String? {
            guard let index = columns.indices[column.lowercased()], index < record.fields.count else { return nil }
            let text = record.fields[index].trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? nil : text
        }

        func required(_ column: String) throws(RowRejection) -> String {
            guard let text = value(column) else { throw reject(column, "is empty") }
            return text
        }

        func reject(_ column: String, _ reason: String) -> RowRejection {
            RowRejection(file: columns.file, line: record.line, column: (columns.indices[column.lowercased()] ?? -1) + 1, field: column,
                         reason: reason)
        }
    }

    /// The row, once it is known to have no more fields than the header.
    func row(_ record: CSVRecord) throws(RowRejection) -> Row {
        guard record.fields.count <= width else {
            throw RowRejection(file: file, line: record.line, column: width + 1, field: "(row)",
                               reason: "the row has \(record.fields.count) fields, the header \(width)")
        }
        return Row(columns: self, record: record)
    }
}
