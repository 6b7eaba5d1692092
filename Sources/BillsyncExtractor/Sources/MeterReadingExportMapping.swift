import BillsyncContracts
import BillsyncCSV
import Foundation

/// Reads a meter-reading export (`MeterID, NMI, ReadingDate, Reading, Unit, Quality`): columns
/// found by header name in any order and case, values trimmed, the reading kept as the exact
/// decimal it was written as (at most four decimals). Its sign is kept: whether a negative
/// reading is acceptable is a business rule, decided by the mapping rules and the billing engine,
/// not by the shape of the record.
public struct MeterReadingExportMapping: Sendable {
    public static let requiredColumns = ["MeterID", "NMI", "ReadingDate", "Reading", "Unit", "Quality"]
    private let columns: CSVHeaderColumns
    public var file: String { columns.file }

    /// Fails (the whole file) when a required column is missing.
    public init(header: CSVRecord, file: String) throws(RowRejection) {
        columns = try CSVHeaderColumns(header: header, file: file, required: Self.requiredColumns)
    }

    public func map(_ record: CSVRecord) -> Result<BillingMeterReading, RowRejection> {
        do throws(RowRejection) {
            return .success(try reading(record))
        } catch {
            return .failure(error)
        }
    }

    private func reading(_ record: CSVRecord) throws(RowRejection) -> BillingMeterReading {
        let row = try columns.row(record)
        func reject(_ column: String, _ reason: String) -> RowRejection { row.reject(column, reason) }
        func required(_ column: String) throws(RowRejection) -> String { try row.required(column) }
        let meterId = try required("MeterID")
        let nmi = try required("NMI")
        guard NationalMeteringIdentifier.isWellFormed(nmi) else { throw reject("NMI", "'\(nmi)' is not an NMI") }
        let dateText = try required("ReadingDate")
        guard let date = LocalDate(parsing: dateText) else { throw reject("ReadingDate", "'\(dateText)' is not a YYYY-MM-DD date") }
        let readingText = try required("Reading")
        guard let decimals = ExactDecimal.fractionDigits(of: readingText), decimals <= 4, let reading = Quantity(parsing: readingText) else {
            throw reject("Reading", "'\(readingText)' is not a number with at most four decimals")
        }
        let unitText = try required("Unit")
        guard let unit = BillingMeterReading.Unit.allCases.first(where: { $0.rawValue.lowercased() == unitText.lowercased() }) else {
            throw reject("Unit", "'\(unitText)' is not one of \(BillingMeterReading.Unit.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let qualityText = try required("Quality")
        guard let quality = BillingMeterReading.Quality(rawValue: qualityText.uppercased()) else {
            throw reject("Quality", "'\(qualityText)' is not an AEMO quality flag (A, E, F, S or N)")
        }
        return BillingMeterReading(meterId: meterId, nmi: nmi, readingDate: date, reading: reading, unit: unit, quality: quality)
    }
}

extension MeterReadingExportMapping: CSVExportMapping {
    public func records(of record: CSVRecord) -> Result<[ExportRecord], RowRejection> {
        map(record).map { [ExportRecord(entity: "meter-reading", key: $0.nmi, payload: $0)] }
    }
}
