import BillsyncContracts
import BillsyncJSON
import Foundation

extension SalesforceClient {
    /// Reads one record by an external id (`GET sobjects/<object>/<field>/<value>`), for
    /// reconciling the CRM with what billsync sent; nil when no record has that value (404).
    ///
    /// Values come back as text: strings as they are, numbers in canonical decimal form
    /// (`12.5` for Salesforce's `12.50`, read digit for digit, never through a `Double`),
    /// booleans `true`/`false`. Empty (null) fields, `attributes` and compound fields (objects)
    /// are left out. One API call; an external id matching several records (300) is an error.
    public func record(object: String, externalIdField: String, externalId: String) async throws -> [String: String]? {
        let answer = try await call("GET", "sobjects/\(Self.pathComponent(object))/\(Self.pathComponent(externalIdField))/\(Self.pathComponent(externalId))",
                                    body: nil, contentType: nil)
        if answer.status == 404 {
            // A field that is no external id answers NOT_FOUND too, with its own message: a
            // mistake to report, not a missing record.
            let message = Self.firstMessage(answer) ?? ""
            guard Self.errorCodes(answer).allSatisfy({ $0 == "NOT_FOUND" }), !message.contains("external ID field") else {
                throw Self.failure(answer)
            }
            return nil
        }
        if answer.status == 300 {
            throw SalesforceError.permanent(code: "MULTIPLE_RECORDS", message: "\(object) \(externalIdField) \(externalId) matches several records")
        }
        guard answer.status == 200, case let .object(members)? = try? JSONParser.parse([UInt8](answer.body)) else {
            throw Self.failure(answer)
        }
        var fields: [String: String] = [:]
        for name in members.keys {
            switch members[name]! {
            case let .string(text): fields[name] = text
            case let .bool(bool): fields[name] = bool ? "true" : "false"
            case let .number(number): fields[name] = SyncReport.Reconciliation.comparable(number.decimal)
            case .null, .array, .object: continue
            }
        }
        return fields
    }
}
