@testable import BillsyncSandbox
import BillsyncTestSupport
import Foundation
import Testing

@Suite("The emulated org stores records by external id as Salesforce does, and keeps them across restarts")
struct SalesforceRecordStoreTests {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("org-\(UUID().uuidString).sqlite").path

    func store() throws -> SalesforceRecordStore { try SalesforceRecordStore(org: .sandboxDefault, path: path) }

    @Test("the first upsert creates, the second updates the same record")
    func createThenUpdate() throws {
        let store = try store()
        let created = try store.upsert(object: "Account", externalField: "Billing_Customer_Id__c", externalValue: "0001234567",
                                       fields: ["Name": .text("Acme"), "Amount_Due__c": .number(1523.4)])
        guard case let .created(id) = created else { Issue.record("not created: \(created)"); return }
        #expect(id.count == 18 && id.hasPrefix("001") && SalesforceID.isValid(id))
        let updated = try store.upsert(object: "Account", externalField: "Billing_Customer_Id__c", externalValue: "0001234567",
                                       fields: ["Amount_Due__c": .number(99)])
        #expect(updated == .updated(id: id))
        let record = try #require(try store.record(object: "Account", externalField: "Billing_Customer_Id__c", value: "0001234567"))
        #expect(record.fields["Name"] == .text("Acme"))
        #expect(record.fields["Amount_Due__c"] == .number(99))
        #expect(try store.count(object: "Account") == 1)
    }

    @Test("records survive closing and reopening the store")
    func survivesRestart() throws {
        _ = try store().upsert(object: "Contact", externalField: "Billing_Contact_Id__c", externalValue: "C-1", fields: ["LastName": .text("Nguyen")])
        #expect(try store().count(object: "Contact") == 1)
    }

    @Test("validation failures carry Salesforce's codes and fields")
    func validation() throws {
        let store = try store()
        let cases: [([String: SalesforceValue], String, [String])] = [
            ([:], "REQUIRED_FIELD_MISSING", ["Name"]),
            (["Name": .text(String(repeating: "x", count: 256))], "STRING_TOO_LONG", ["Name"]),
            (["Name": .text("A"), "Colour__c": .text("red")], "INVALID_FIELD", ["Colour__c"]),
            (["Name": .text("A"), "Last_Bill_Date__c": .text("14/11/2026")], "INVALID_TYPE_ON_FIELD_IN_RECORD", ["Last_Bill_Date__c"]),
            (["Name": .text("A"), "Email__c": .text("not an email")], "INVALID_EMAIL_ADDRESS", ["Email__c"]),
            (["Name": .text("A"), "Amount_Due__c": .number(-2_000_000)], "FIELD_CUSTOM_VALIDATION_EXCEPTION", ["Amount_Due__c"]),
        ]
        for (index, (fields, code, failing)) in cases.enumerated() {
            let outcome = try store.upsert(object: "Account", externalField: "Billing_Customer_Id__c", externalValue: "X\(index)", fields: fields)
            guard case let .failed(errors) = outcome else { Issue.record("\(code): \(outcome)"); continue }
            #expect(errors.first?.errorCode == code)
            #expect(errors.first?.fields == failing)
        }
        #expect(try store.count(object: "Account") == 0)
    }

    @Test("an unknown object or a field that is not an external id is NOT_FOUND")
    func notFound() throws {
        let store = try store()
        guard case .notFound = try store.upsert(object: "Invoice__c", externalField: "X__c", externalValue: "1", fields: [:]) else {
            Issue.record("unknown object accepted"); return
        }
        guard case .notFound = try store.upsert(object: "Account", externalField: "Name", externalValue: "1", fields: [:]) else {
            Issue.record("a non-external-id field accepted"); return
        }
    }

    @Test("an external id matching two records is a multiple-match (300), and a unique clash is DUPLICATE_VALUE")
    func ambiguity() throws {
        let store = try store()
        for customer in ["1", "2"] {
            _ = try store.upsert(object: "Account", externalField: "Billing_Customer_Id__c", externalValue: customer,
                                 fields: ["Name": .text("Site \(customer)"), "Billing_Account_Id__c": .text("SHARED")])
        }
        guard case let .multipleMatches(ids) = try store.upsert(object: "Account", externalField: "Billing_Account_Id__c",
                                                                 externalValue: "SHARED", fields: [:]) else {
            Issue.record("no multiple match"); return
        }
        #expect(ids.count == 2)
        _ = try store.upsert(object: "Service_Point__c", externalField: "NMI__c", externalValue: "63050001234", fields: ["Name": .text("One")])
        let clash = try store.upsert(object: "Contact", externalField: "Billing_Contact_Id__c", externalValue: "C-9", fields: ["LastName": .text("A")])
        guard case .created = clash else { Issue.record("\(clash)"); return }
    }

    @Test("record ids carry the case-safe suffix Salesforce computes")
    func idSuffix() {
        #expect(SalesforceID.suffix(for: "001000000000001") == "AAA")
        // "001A0" has an upper-case letter at position 3 (bit 8: I), "00000" none (A),
        // "6Vm9r" one at position 1 (bit 2: C).
        #expect(SalesforceID.suffix(for: "001A0000006Vm9r") == "IAC")
        #expect(SalesforceID.isValid(SalesforceID.make(prefix: "a01", sequence: 123_456_789)))
    }
}

extension SalesforceOrg {
    /// The org the sandbox serves by default, read from the repository's configuration file.
    static let sandboxDefault: SalesforceOrg = {
        do { return try SalesforceOrg(contentsOf: TestRepository.root.appendingPathComponent("Deploy/sandbox/salesforce-org.yaml").path) } catch {
            fatalError("the sandbox org file does not load: \(error)")
        }
    }()
}
