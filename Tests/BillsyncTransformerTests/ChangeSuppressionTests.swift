import BillsyncContracts
import BillsyncTransformer
import Foundation
import Testing

@Suite("An unchanged record is not sent again, across restarts")
struct ChangeSuppressionTests {
    @Test("sent once, unchanged is suppressed, a changed field is sent, and the memory survives a restart")
    func suppression() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("suppress-\(UUID().uuidString).sqlite").path
        let first = CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0001234567",
                              fields: ["Amount_Due__c": .decimal(Decimal(string: "1523.40")!), "Name": .string("Acme")])
        var changed = first
        changed.fields["Amount_Due__c"] = .decimal(Decimal(string: "1523.41")!)
        let suppression = try ChangeSuppression(path: path)
        #expect(try suppression.isChanged(first))
        try suppression.recordSent([first])
        #expect(try !suppression.isChanged(first))
        #expect(try suppression.isChanged(changed))
        let restarted = try ChangeSuppression(path: path)
        #expect(try !restarted.isChanged(first))
        // Another mapping writing other fields of the same record does not make the first one resend.
        let fromBill = CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0001234567",
                                 fields: ["Last_Bill_Date__c": .string("2026-11-14")])
        try restarted.recordSent([fromBill])
        #expect(try !restarted.isChanged(first))
        #expect(try !restarted.isChanged(fromBill))
        var otherRecord = first
        otherRecord.externalId = "0009999999"
        #expect(try restarted.isChanged(otherRecord))
    }
}
