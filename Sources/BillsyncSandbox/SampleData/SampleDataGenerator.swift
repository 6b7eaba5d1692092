import BillsyncCSV
import Foundation

/// Realistic Australian energy-retail data for any number of accounts, the same for the same
/// seed: customer ids with leading zeros, NMIs with valid checksums, C1/C2/C3 commercial
/// hierarchies, tariffs, bills and meter reads, with a chosen share of deliberately bad rows.
public struct SampleDataGenerator: Sendable {
    public struct Options: Sendable {
        public var accounts: Int
        public var seed: UInt64 = 2026
        /// Share of rows made bad on purpose (0...1).
        public var badRowShare = 0.05
        public var readingsPerAccount = 2

        public init(accounts: Int) {
            self.accounts = accounts
        }
    }

    /// One deliberately irregular row, and what a correct pipeline does with it.
    public struct Anomaly: Codable, Sendable, Hashable {
        public enum Kind: String, Codable, Sendable {
            case missingCustomerId = "missing-customer-id"
            case threeDecimalAmount = "three-decimal-amount"
            case dayFirstDate = "day-first-date"
            case strayWhitespace = "stray-whitespace"
            case duplicatedRow = "duplicated-row"
            case negativeReading = "negative-reading"
            case badNMIChecksum = "bad-nmi-checksum"
        }

        public enum Expected: String, Codable, Sendable {
            /// Dead-lettered, naming the field.
            case rejected
            /// Accepted after cleaning (trimmed).
            case cleaned
            /// Accepted once; the repeat changes nothing.
            case deduplicated
        }

        public let file: String
        /// 1-based line of the record's first line, header included.
        public let line: Int
        public let kind: Kind
        public let expected: Expected
        public let customerId: String?
    }

    public struct Summary: Codable, Sendable {
        public var accounts = 0
        public var accountRows = 0
        public var readingRows = 0
        public var anomalies: [Anomaly] = []
    }

    public static let accountColumns = [
        "CustomerID", "AccountID", "PersonID", "Name", "AccountType", "HierarchyLevel", "ParentAccountID", "Industry",
        "AccountRepresentative", "Email", "Phone", "AddressLine1", "Suburb", "State", "Postcode", "NMI", "TariffCode",
        "ServiceStartDate", "AmountDue", "DueDate", "LastBillDate", "FYTDRevenue", "Notes",
    ]
    public static let readingColumns = ["MeterID", "NMI", "ReadingDate", "Reading", "Unit", "Quality"]
    public static let tariffColumns = ["TariffCode", "Name", "Commodity", "UnitRate", "DailySupplyCharge", "EffectiveFrom"]
    public static let productColumns = ["ProductCode", "Name", "Description", "Family", "TariffCode", "Active"]

    public let options: Options

    public init(options: Options) {
        self.options = options
    }

    /// Writes `billing_export.csv` (seed 000's shape, with a BOM and CRLF line ends as a Windows
    /// export has them), `meter_readings.csv` (LF, no BOM), `tariffs.csv` (the reference data for
    /// tariff lookups), `product_catalog.csv` (seed 002's nightly catalog) and `anomalies.json`
    /// into `directory`.
    ///
    /// In another `dialect` the same records are written the way another billing engine would
    /// (its encoding, delimiter, date and amount forms, column names).
    public func writeCSV(to directory: URL, dialect: ExportDialect = .standard) throws -> Summary {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var random = SplitMix64(seed: options.seed)
        var summary = Summary()
        let accounts = try dialect.writer(directory.appendingPathComponent("billing_export.csv"), bom: true)
        // The standard engine writes its other files with LF line ends.
        var readingDialect = dialect
        if dialect.name == ExportDialect.standard.name { readingDialect.lineEnd = "\n" }
        let readings = try readingDialect.writer(directory.appendingPathComponent("meter_readings.csv"), bom: false)
        accounts.writeRow(dialect.header(Self.accountColumns))
        readings.writeRow(dialect.header(Self.readingColumns))
        for index in 0..<options.accounts {
            let account = SampleAccount(index: index, random: &random)
            var row = account.csvRow
            let bad = Double.random(in: 0..<1, using: &random) < options.badRowShare
            var anomaly: Anomaly.Kind?
            if bad {
                let kinds: [Anomaly.Kind] = [.missingCustomerId, .threeDecimalAmount, .dayFirstDate, .strayWhitespace, .duplicatedRow, .badNMIChecksum]
                anomaly = kinds[Int.random(in: 0..<kinds.count, using: &random)]
                row = Self.spoil(row, with: anomaly!)
            }
            let line = accounts.line
            row = dialect.render(row, columns: Self.accountColumns)
            accounts.writeRow(row)
            summary.accountRows += 1
            if let anomaly {
                summary.anomalies.append(Anomaly(file: "billing_export.csv", line: line, kind: anomaly,
                                                 expected: Self.expectation(of: anomaly), customerId: account.customerId))
                if anomaly == .duplicatedRow {
                    accounts.writeRow(row)
                    summary.accountRows += 1
                }
            }
            for reading in 0..<options.readingsPerAccount {
                var readingRow = account.readingRow(number: reading, random: &random)
                let badReading = Double.random(in: 0..<1, using: &random) < options.badRowShare / 2
                if badReading {
                    readingRow[3] = "-" + readingRow[3]
                    summary.anomalies.append(Anomaly(file: "meter_readings.csv", line: readings.line, kind: .negativeReading,
                                                     expected: .rejected, customerId: account.customerId))
                }
                readings.writeRow(dialect.render(readingRow, columns: Self.readingColumns))
                summary.readingRows += 1
            }
        }
        summary.accounts = options.accounts
        try accounts.close()
        try readings.close()
        let tariffs = try readingDialect.writer(directory.appendingPathComponent("tariffs.csv"), bom: false)
        tariffs.writeRow(Self.tariffColumns)
        for tariff in SampleAccount.tariffTable { tariffs.writeRow(dialect.render(tariff + ["2026-07-01"], columns: Self.tariffColumns)) }
        try tariffs.close()
        let products = try readingDialect.writer(directory.appendingPathComponent("product_catalog.csv"), bom: false)
        products.writeRow(Self.productColumns)
        for product in SampleAccount.productCatalog { products.writeRow(dialect.render(product, columns: Self.productColumns)) }
        try products.close()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(summary).write(to: directory.appendingPathComponent("anomalies.json"))
        return summary
    }

    static func expectation(of kind: Anomaly.Kind) -> Anomaly.Expected {
        switch kind {
        case .strayWhitespace: .cleaned
        case .duplicatedRow: .deduplicated
        default: .rejected
        }
    }

    /// Makes a good row bad in one specific way.
    static func spoil(_ row: [String], with kind: Anomaly.Kind) -> [String] {
        var row = row
        let column = { (name: String) in accountColumns.firstIndex(of: name)! }
        switch kind {
        case .missingCustomerId: row[column("CustomerID")] = ""
        case .threeDecimalAmount: row[column("AmountDue")] += "5"
        case .dayFirstDate:
            let parts = row[column("LastBillDate")].split(separator: "-")
            row[column("LastBillDate")] = "\(parts[2])/\(parts[1])/\(parts[0])"
        case .strayWhitespace: row[column("CustomerID")] = "  \(row[column("CustomerID")]) "
        case .duplicatedRow: break
        case .badNMIChecksum:
            let nmi = row[column("NMI")]
            let last = Int(String(nmi.last!))!
            row[column("NMI")] = String(nmi.dropLast()) + String((last + 1) % 10)
        case .negativeReading: break
        }
        return row
    }
}
