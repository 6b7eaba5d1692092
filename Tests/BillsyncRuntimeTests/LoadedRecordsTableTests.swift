import BillsyncContracts
import BillsyncKafka
@testable import BillsyncRuntime
import BillsyncTestSupport
import Foundation
import Testing

@Suite("What the loader loaded is known to every replica that keeps the loaded-records table")
struct LoadedRecordsTableTests {
    static func result(_ upsert: CRMUpsert, outcome: CRMLoadResult.Outcome) throws -> KafkaProducerMessage {
        let payload = CRMLoadResult(object: upsert.object, externalIdField: upsert.externalIdField, externalId: upsert.externalId,
                                    sink: .salesforce, outcome: outcome, recordId: outcome == .failed ? nil : "001000000000001AAA", loaded: upsert)
        let envelope = MessageEnvelope(source: MessageSource(system: .billsync, name: "loader"), businessKey: upsert.externalId, occurredAt: nil,
                                       payload: payload)
        return KafkaProducerMessage(topic: "", key: Array("\(upsert.object)/\(upsert.externalId)/\(upsert.fieldSet)".utf8),
                                    value: try TestRepository.contracts.encode(envelope))
    }

    @Test("two replicas read the table to its end at start and follow it: a load written later reaches both, a failure neither")
    func sharedByReplicas() async throws {
        let topic = try await TestKafka.createTopics("loaded", count: 1, partitions: 2)[0]
        let before = CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0001234567",
                               fields: ["Name": .string("Acme")])
        var after = before
        after.fields["Name"] = .string("Acme Energy")
        var other = before
        other.externalId = "0007654321"
        let producer = try TestKafka.producer()
        var written = try Self.result(before, outcome: .created)
        written.topic = topic
        _ = try await producer.send(written)

        let replicas = [LoadedRecords(use: .suppression), LoadedRecords(use: .suppression)]
        var followers: [(CompactedTable, KafkaConsumer)] = []
        for replica in replicas {
            let table = replica.table(topic: topic, contracts: TestRepository.contracts)
            let group = TestKafka.uniqueName("tables")
            let ends = try await table.catchUp(connection: TestKafka.connection, groupID: group, logger: TestKafka.logger)
            followers.append((table, try table.follower(from: ends, connection: TestKafka.connection, groupID: group, logger: TestKafka.logger)))
        }
        // Read at start.
        #expect(replicas.allSatisfy { $0.isUnchanged(before.fingerprint) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (table, consumer) in followers {
                group.addTask { try await consumer.run() }
                group.addTask { try await table.follow(consumer) }
            }
            for message in [try Self.result(other, outcome: .failed), try Self.result(after, outcome: .updated)] {
                var message = message
                message.topic = topic
                _ = try await producer.send(message)
            }
            // Followed: both took in what came after they started.
            let caughtUp = await eventually(timeout: .seconds(30)) { replicas.allSatisfy { $0.appliedCount == 2 } }
            #expect(caughtUp)
            for (_, consumer) in followers { consumer.triggerShutdown() }
            try await group.waitForAll()
        }
        await producer.shutdown()
        #expect(replicas.allSatisfy { $0.isUnchanged(after.fingerprint) && !$0.isUnchanged(before.fingerprint) })
        #expect(replicas.allSatisfy { !$0.isUnchanged(other.fingerprint) }, "a failed load was remembered")
    }
}
