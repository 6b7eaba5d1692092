import BillsyncContracts
import BillsyncCSV

/// One canonical billing record read from a row of an export, bound for its raw topic
/// (`entity` → `<prefix>.raw.<entity>`) under its business key.
public struct ExportRecord: Sendable {
    public let entity: String
    public let key: String
    public let payload: any MessagePayload

    public init(entity: String, key: String, payload: any MessagePayload) {
        self.entity = entity
        self.key = key
        self.payload = payload
    }
}

/// How the rows of one kind of export file become canonical records. A file's header decides
/// which mapping reads it (`CSVExportFormat.mapping(header:file:)`).
public protocol CSVExportMapping: Sendable {
    /// The row's records, or why the row is refused (naming file, line, column and field).
    func records(of record: CSVRecord) -> Result<[ExportRecord], RowRejection>
}

/// The export files a drop folder understands, told apart by their header: a meter-reading
/// export has `MeterID` and `Reading` columns; anything else is read as seed 000's account
/// export (which refuses a header without `CustomerID` and `Name`).
public enum CSVExportFormat {
    public static func mapping(header: CSVRecord, file: String) throws(RowRejection) -> any CSVExportMapping {
        let names = Set(header.fields.map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() })
        if names.contains("meterid"), names.contains("reading") {
            return try MeterReadingExportMapping(header: header, file: file)
        }
        return try BillingExportMapping(header: header, file: file)
    }
}

extension BillingExportMapping: CSVExportMapping {
    public func records(of record: CSVRecord) -> Result<[ExportRecord], RowRejection> {
        map(record).map(\.records)
    }
}

extension BillingExportRow {
    /// The account, then its bill and its premise when the row has them.
    public var records: [ExportRecord] {
        var records = [ExportRecord(entity: "account", key: account.customerId, payload: account)]
        if let bill { records.append(ExportRecord(entity: "bill", key: bill.customerId, payload: bill)) }
        if let premise { records.append(ExportRecord(entity: "premise", key: premise.nmi, payload: premise)) }
        return records
    }
}
