import BillsyncContracts
import BillsyncCSV
import Foundation

/// Why one row of a file was not published: where it is (file, line, column) and what is wrong.
/// It is dead-lettered with these; the rest of the file goes on.
public struct RowRejection: Error, Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int
    /// 1-based column of the offending field (0 when the row as a whole is malformed).
    public let column: Int
    public let field: String
    public let reason: String

    public var description: String { "\(file) line \(line), column \(column) (\(field)): \(reason)" }
}

/// The records one row of a billing export (seed 000's shape) holds.
public struct BillingExportRow: Sendable, Hashable {
    public let line: Int
    public let account: BillingAccount
    public let bill: BillingBill?
    public let premise: BillingPremise?
}

/// Reads seed 000's export: columns found by header name (any order, any case, extra columns
/// ignored), every value trimmed, ids kept as text with their leading zeros, amounts and dates
/// parsed exactly (a 3-decimal amount or a day-first date is refused, naming the column: the
/// export is expected in ISO form, and guessing would put wrong data in the CRM).
public struct BillingExportMapping: Sendable {
    public static let requiredColumns = ["CustomerID", "Name"]
    private let columns: CSVHeaderColumns
    public var file: String { columns.file }

    /// Fails (the whole file) when a required column is missing.
    public init(header: CSVRecord, file: String) throws(RowRejection) {
        columns = try CSVHeaderColumns(header: header, file: file, required: Self.requiredColumns)
    }

    public func map(_ record: CSVRecord) -> Result<BillingExportRow, RowRejection> {
        do throws(RowRejection) {
            return .success(try mapRow(record))
        } catch {
            return .failure(error)
        }
    }

    private func mapRow(_ record: CSVRecord) throws(RowRejection) -> BillingExportRow {
        let row = try columns.row(record)
        func value(_ column: String) -> String? { row.value(column) }
        func reject(_ column: String, _ reason: String) -> RowRejection { row.reject(column, reason) }
        func required(_ column: String) throws(RowRejection) -> String { try row.required(column) }
        func money(_ column: String) throws(RowRejection) -> Money? {
            guard let text = value(column) else { return nil }
            let integerDigits = text.drop { $0 == "-" }.prefix { $0 != "." }.count
            guard let decimals = ExactDecimal.fractionDigits(of: text), decimals <= 2, integerDigits <= 13, let amount = Money(parsing: text) else {
                throw reject(column, "'\(text)' is not an amount with at most two decimals")
            }
            return amount
        }
        func date(_ column: String) throws(RowRejection) -> LocalDate? {
            guard let text = value(column) else { return nil }
            guard let date = LocalDate(parsing: text) else { throw reject(column, "'\(text)' is not a YYYY-MM-DD date") }
            return date
        }
        let customerId = try required("CustomerID")
        guard customerId.count <= 12, customerId.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw reject("CustomerID", "'\(customerId)' is not a customer number (digits only)")
        }
        let accountId = value("AccountID") ?? "ACC-\(customerId)"
        let accountType = BillingAccount.AccountType(rawValue: value("AccountType")?.lowercased() ?? "residential")
        guard let accountType else { throw reject("AccountType", "'\(value("AccountType") ?? "")' is not residential or commercial") }
        let level = try value("HierarchyLevel").map { text throws(RowRejection) in
            guard let level = BillingAccount.HierarchyLevel(rawValue: text.uppercased()) else { throw reject("HierarchyLevel", "'\(text)' is not C1, C2 or C3") }
            return level
        }
        var address: PostalAddress?
        if let line1 = value("AddressLine1"), let suburb = value("Suburb"), let stateText = value("State"), let postcode = value("Postcode") {
            guard let state = PostalAddress.State(rawValue: stateText.uppercased()) else { throw reject("State", "'\(stateText)' is not an Australian state") }
            guard postcode.count == 4, postcode.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw reject("Postcode", "'\(postcode)' is not four digits") }
            address = PostalAddress(line1: line1, suburb: suburb, state: state, postcode: postcode)
        }
        let account = BillingAccount(
            customerId: customerId, accountId: accountId, personId: value("PersonID"), name: try required("Name"),
            accountType: accountType, hierarchyLevel: level, parentAccountId: value("ParentAccountID"), industry: value("Industry"),
            accountRepresentative: value("AccountRepresentative"), businessDescription: value("Notes"), primaryAddress: address,
            email: value("Email"), phone: value("Phone"), status: .active)
        var bill: BillingBill?
        if let amountDue = try money("AmountDue") {
            guard let lastBillDate = try date("LastBillDate") else { throw reject("LastBillDate", "is empty while AmountDue is given") }
            bill = BillingBill(billId: "BILL-\(customerId)-\(lastBillDate)", accountId: accountId, customerId: customerId,
                               amountDue: amountDue, dueDate: try date("DueDate") ?? lastBillDate, lastBillDate: lastBillDate,
                               fiscalYearToDateRevenue: try money("FYTDRevenue"), status: .issued)
        }
        var premise: BillingPremise?
        if let nmi = value("NMI") {
            guard NationalMeteringIdentifier.isWellFormed(nmi) else {
                throw reject("NMI", "'\(nmi)' is not an NMI")
            }
            guard let address, let start = try date("ServiceStartDate") else {
                throw reject("ServiceStartDate", "a premise needs an address and a service start date")
            }
            premise = BillingPremise(premiseId: "PR-\(nmi)", accountId: accountId, nmi: nmi, address: address, active: true,
                                     serviceStartDate: start, tariffCode: value("TariffCode"))
        }
        return BillingExportRow(line: record.line, account: account, bill: bill, premise: premise)
    }
}
