import BillsyncContracts
import BillsyncJSON
import BillsyncRuntime
import BillsyncTestSupport
import BillsyncTransformer
import Foundation
import Testing

@Suite("A change is suppressed only when Salesforce holds it by billsync's own successful load")
struct ChangeSuppressionTests {
    static let first = CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0001234567",
                                 fields: ["Amount_Due__c": .decimal(Decimal(string: "1523.40")!), "Name": .string("Acme")])
    static var changed: CRMUpsert {
        var changed = first
        changed.fields["Amount_Due__c"] = .decimal(Decimal(string: "1523.41")!)
        return changed
    }

    /// What the writer sends for `upsert` now (0 or 1 outputs), acknowledged by the broker at once.
    static func send(_ upsert: CRMUpsert, through writer: UpsertWriter) throws -> Int {
        let envelope = MessageEnvelope(source: MessageSource(system: .csvDrop, name: "test"), businessKey: upsert.externalId, occurredAt: nil,
                                       payload: upsert)
        var pending = UpsertWriter.Pending()
        try writer.add(upsert, index: 0, from: envelope, to: &pending)
        let outputs = try writer.commit(pending)
        writer.acknowledged(outputs)
        return outputs.count
    }

    /// A writer over an empty loaded-records table that has sent `first`, which was then loaded.
    static func writerAfterFirstLoaded() throws -> (LoadedRecords, UpsertWriter) {
        let loaded = LoadedRecords(use: .suppression)
        let writer = UpsertWriter(loaded: loaded, outputTopic: "upserts", contracts: TestRepository.contracts)
        #expect(try send(first, through: writer) == 1)
        loaded.loaded(first.fingerprint)
        return (loaded, writer)
    }

    @Test("sent, loaded, then suppressed; a change is sent; a field set written by another mapping does not interfere")
    func loadedIsSuppressed() throws {
        let loaded = LoadedRecords(use: .suppression)
        let writer = UpsertWriter(loaded: loaded, outputTopic: "upserts", contracts: TestRepository.contracts)
        #expect(try Self.send(Self.first, through: writer) == 1)
        #expect(try Self.send(Self.first, through: writer) == 1, "sent but not loaded yet: not suppressed")
        loaded.loaded(Self.first.fingerprint)
        #expect(try Self.send(Self.first, through: writer) == 0)
        #expect(try Self.send(Self.changed, through: writer) == 1)
        let fromBill = CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0001234567",
                                 fields: ["Last_Bill_Date__c": .string("2026-11-14")])
        loaded.loaded(fromBill.fingerprint)
        #expect(loaded.isUnchanged(fromBill.fingerprint))
        #expect(!loaded.isUnchanged(Self.changed.fingerprint))
    }

    @Test("a change the loader failed to load is sent again when it comes again")
    func failedLoadIsSentAgain() throws {
        let (_, writer) = try Self.writerAfterFirstLoaded()
        // The change is sent and dead-lettered by the loader: no successful load result comes back.
        #expect(try Self.send(Self.changed, through: writer) == 1)
        #expect(try Self.send(Self.changed, through: writer) == 1, "a value Salesforce never accepted was suppressed")
        // And the old value, while the change is unconfirmed, is not taken as what Salesforce holds.
        #expect(try Self.send(Self.first, through: writer) == 1)
    }

    @Test("A, then B, then A again: the last A is sent")
    func backAndForth() throws {
        let (loaded, writer) = try Self.writerAfterFirstLoaded()
        #expect(try Self.send(Self.changed, through: writer) == 1)
        loaded.loaded(Self.changed.fingerprint)
        #expect(try Self.send(Self.first, through: writer) == 1)
    }

    @Test("A loaded, then B and A again before the broker acknowledged B: both are sent, so Salesforce ends with A")
    func backAndForthInFlight() throws {
        let (_, writer) = try Self.writerAfterFirstLoaded()
        let envelope = MessageEnvelope(source: MessageSource(system: .csvDrop, name: "test"), businessKey: "k", occurredAt: nil, payload: Self.first)
        // Both transformed (as side by side), then committed in their order, none acknowledged yet.
        var changed = UpsertWriter.Pending(), back = UpsertWriter.Pending(), again = UpsertWriter.Pending()
        try writer.add(Self.changed, index: 0, from: envelope, to: &changed)
        try writer.add(Self.first, index: 1, from: envelope, to: &back)
        try writer.add(Self.first, index: 2, from: envelope, to: &again)
        let sent = try [changed, back, again].map { try writer.commit($0) }
        #expect(sent.map(\.count) == [1, 1, 0], "the change, the value back (what Salesforce must end with), not the same value twice in flight")
        writer.acknowledged(sent.flatMap { $0 })
        #expect(try Self.send(Self.first, through: writer) == 0, "both acknowledged, A last: Salesforce will hold A, which it had")
    }

    @Test("an upsert's values fingerprint is FNV-1a over its external id field and its fields' canonical JSON, as crm.loaded holds them")
    func fingerprintIsOfTheCanonicalJSON() {
        var upsert = Self.first
        upsert.fields["Active__c"] = .bool(true)
        upsert.fields["Closed_On__c"] = .null
        upsert.fields["Note__c"] = .string("line\n\"quoted\"")
        var expected = StableHash()
        expected.add(upsert.externalIdField)
        expected.add(upsert.fieldsJSONValue().serialized())
        #expect(upsert.fingerprint.value == expected.value)
        #expect(upsert.fieldSet == "Active__c,Amount_Due__c,Closed_On__c,Name,Note__c")
    }

    @Test("the loader's fingerprint of an upsert read off the topic is the transformer's, whatever the external id's case")
    func fingerprintSurvivesTheTopic() throws {
        let contracts = TestRepository.contracts
        let envelope = MessageEnvelope(source: MessageSource(system: .csvDrop, name: "test"), businessKey: "k", occurredAt: nil, payload: Self.first)
        let decoded = try contracts.decode(try contracts.encode(envelope), as: CRMUpsert.self).payload
        #expect(decoded.fingerprint == Self.first.fingerprint)
        var shouted = Self.first
        shouted.externalId = "0001234567".uppercased()
        #expect(shouted.fingerprint.key == Self.first.fingerprint.key)
        let result = CRMLoadResult(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0001234567", sink: .salesforce,
                                   outcome: .updated, recordId: "001000000000001AAA", loaded: decoded)
        #expect(result.loadedFingerprint == Self.first.fingerprint)
        let failed = CRMLoadResult(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0001234567", sink: .salesforce,
                                   outcome: .failed, recordId: nil, loaded: decoded)
        #expect(failed.loadedFingerprint == nil)
    }
}
