import BillsyncCSV
import Foundation

/// How a billing engine writes its exports: the same accounts and readings, in another engine's
/// shape. The generator writes any dialect; a source mapping file reads it back (the shipped
/// `Deploy/extractor/examples/legacy-windows.yaml` reads `legacyWindows`), which is how the
/// README shows adapting billsync to a new engine without writing Swift.
public struct ExportDialect: Sendable {
    public var name: String
    public var encoding: TextEncoding
    public var delimiter: UInt8
    public var lineEnd: String
    /// A UTF-8 byte-order mark on the account export (what Excel writes).
    public var byteOrderMark: Bool
    /// `31/12/2025` instead of `2025-12-31`.
    public var dayFirstDates: Bool
    /// `$1,523.40` instead of `1523.40`.
    public var currencyAmounts: Bool
    /// `1234,567` instead of `1234.567` for readings.
    public var decimalCommaReadings: Bool
    /// `R`/`C` instead of `residential`/`commercial`.
    public var accountTypeCodes: Bool
    /// The standard column name → this dialect's, in the account and reading exports (the
    /// reference files, tariffs and products, keep their names).
    public var columnNames: [String: String]

    /// Seed 000's export: UTF-8 with a BOM, commas, CRLF, ISO dates, plain amounts.
    public static let standard = ExportDialect(
        name: "standard", encoding: .utf8, delimiter: UInt8(ascii: ","), lineEnd: "\r\n", byteOrderMark: true, dayFirstDates: false,
        currencyAmounts: false, decimalCommaReadings: false, accountTypeCodes: false, columnNames: [:])

    /// An older engine's export saved on Windows: Windows-1252, semicolons, CRLF, day-first
    /// dates, amounts with a dollar sign and thousands separators, decimal-comma readings,
    /// one-letter account types and its own column names.
    public static let legacyWindows = ExportDialect(
        name: "legacy-windows", encoding: .windows1252, delimiter: UInt8(ascii: ";"), lineEnd: "\r\n", byteOrderMark: false,
        dayFirstDates: true, currencyAmounts: true, decimalCommaReadings: true, accountTypeCodes: true, columnNames: [
            "CustomerID": "Cust No", "AccountID": "Account Ref", "PersonID": "Person Ref", "Name": "Customer Name", "AccountType": "Cust Type",
            "HierarchyLevel": "Level", "ParentAccountID": "Parent Account", "AccountRepresentative": "Account Manager", "Email": "E-mail",
            "Phone": "Phone No", "AddressLine1": "Street", "Suburb": "Town", "Postcode": "Post Code", "TariffCode": "Tariff",
            "ServiceStartDate": "Supply Start", "AmountDue": "Balance", "DueDate": "Due", "LastBillDate": "Bill Date",
            "FYTDRevenue": "Revenue YTD", "Notes": "Comments", "MeterID": "Meter", "ReadingDate": "Read Date", "Reading": "Read Value",
            "Unit": "UOM", "Quality": "Qual",
        ])

    public static let all = [standard, legacyWindows]

    public static func named(_ name: String) -> ExportDialect? { all.first { $0.name == name } }

    func writer(_ url: URL, bom: Bool) throws -> CSVFileWriter {
        try CSVFileWriter(url: url, lineEnd: lineEnd, byteOrderMark: bom && byteOrderMark, delimiter: delimiter, encoding: encoding)
    }

    func header(_ columns: [String]) -> [String] { columns.map { columnNames[$0] ?? $0 } }

    /// A standard row in this dialect. A value already in the dialect's form (a deliberately
    /// day-first date in a standard export) is written in the other form, so an anomaly stays one.
    func render(_ row: [String], columns: [String]) -> [String] {
        zip(columns, row).map { column, value in
            switch column {
            case "ServiceStartDate", "DueDate", "LastBillDate", "ReadingDate", "EffectiveFrom": date(value)
            case "AmountDue", "FYTDRevenue": amount(value)
            case "Reading": decimalCommaReadings ? value.replacingOccurrences(of: ".", with: ",") : value
            case "AccountType" where accountTypeCodes: value.isEmpty ? value : value.prefix(1).uppercased()
            default: value
            }
        }
    }

    func date(_ value: String) -> String {
        guard dayFirstDates else { return value }
        let iso = value.split(separator: "-")
        if iso.count == 3, iso[0].count == 4 { return "\(iso[2])/\(iso[1])/\(iso[0])" }
        let dayFirst = value.split(separator: "/")
        if dayFirst.count == 3 { return "\(dayFirst[2])-\(dayFirst[1])-\(dayFirst[0])" }
        return value
    }

    func amount(_ value: String) -> String {
        guard currencyAmounts, !value.isEmpty else { return value }
        let negative = value.hasPrefix("-")
        let digits = negative ? String(value.dropFirst()) : value
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        var integer = String(parts[0])
        var grouped = ""
        while integer.count > 3 {
            grouped = "," + integer.suffix(3) + grouped
            integer = String(integer.dropLast(3))
        }
        return (negative ? "-$" : "$") + integer + grouped + (parts.count > 1 ? "." + parts[1] : "")
    }
}
