import BillsyncContracts
import BillsyncKafka
import BillsyncOperations
import BillsyncTestSupport
import BillsyncTopics
import Foundation
import Testing

/// Lineage over messages written on the broker as the stages write them.
@Suite("Lineage follows a record across the topics and says where it is stuck")
struct LineageTests {
    func message(_ topic: String, key: String, correlation: String, json: String, headers: [(String, String)] = []) -> KafkaProducerMessage {
        KafkaProducerMessage(topic: topic, key: Array(key.utf8), value: Array(json.utf8),
                             headers: [KafkaHeader(name: StageHeaders.correlationID, string: correlation)] + headers.map { KafkaHeader(name: $0.0, string: $0.1) })
    }

    func raw(_ catalog: TopicCatalog, key: String, correlation: String, line: Int) -> KafkaProducerMessage {
        message(catalog.rawTopic("account"), key: key, correlation: correlation,
                json: #"{"type":"billing.account","businessKey":"\#(key)","correlationId":"\#(correlation)","source":{"system":"csv-drop","name":"nightly"},"extractedAt":"2026-11-30T08:00:00Z","payload":{}}"#,
                headers: [(StageHeaders.originFile, "billing_export.csv"), (StageHeaders.originLine, "\(line)")])
    }

    func upsert(_ catalog: TopicCatalog, key: String, correlation: String) -> KafkaProducerMessage {
        message(catalog.upsertCommands, key: key, correlation: correlation,
                json: #"{"businessKey":"\#(key)","correlationId":"\#(correlation)","payload":{"object":"Account","externalIdField":"Billing_Customer_Id__c","externalId":"\#(key)"}}"#,
                headers: [(StageHeaders.writtenBy, "transformer")])
    }

    @Test("one record loaded all the way, one waiting in a retry tier, one dead-lettered with the command that redrives it")
    func threeRecords() async throws {
        let catalog = TopicCatalog(partitions: 1, prefix: TestKafka.uniqueName("lineage"))
        try await KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger).createTopics(catalog.specifications)
        let failure: [(String, String)] = [(StageHeaders.errorCode, "sf.UNABLE_TO_LOCK_ROW"), (StageHeaders.errorMessage, "row locked"),
                                           (StageHeaders.attempts, "1"), (StageHeaders.stage, "loader")]
        let producer = try TestKafka.producer()
        _ = try await producer.sendAll([
            raw(catalog, key: "1000001", correlation: "aaaa", line: 2), upsert(catalog, key: "1000001", correlation: "aaaa"),
            message(catalog.loadResults, key: "1000001", correlation: "aaaa",
                    json: #"{"correlationId":"aaaa","payload":{"object":"Account","externalId":"1000001","sink":"salesforce","outcome":"created","success":true,"recordId":"001000000000001AAA"}}"#),
            raw(catalog, key: "1000002", correlation: "bbbb", line: 3), upsert(catalog, key: "1000002", correlation: "bbbb"),
            message(catalog.retryTopic(stage: .loader, tier: 1), key: "1000002", correlation: "bbbb",
                    json: #"{"correlationId":"bbbb","payload":{"object":"Account","externalId":"1000002"}}"#, headers: failure),
            raw(catalog, key: "1000003", correlation: "cccc", line: 4),
            message(catalog.deadLetterTopic(stage: .transformer), key: "1000003", correlation: "cccc",
                    json: #"{"correlationId":"cccc","payload":{}}"#,
                    headers: [(StageHeaders.errorCode, "rule.required"), (StageHeaders.errorMessage, "Name is empty"),
                              (StageHeaders.errorPointer, "/payload/name"), (StageHeaders.attempts, "1"), (StageHeaders.stage, "transformer")]),
        ])
        await producer.shutdown()
        func trace(_ key: String) async throws -> Lineage {
            try await Lineage.trace(key: key, connection: TestKafka.connection, catalog: catalog, groupID: TestKafka.uniqueName("lineage"), logger: TestKafka.logger)
        }

        let loaded = try await trace("1000001")
        #expect(loaded.events.map(\.step) == [.extracted, .transformed, .loaded])
        #expect(loaded.stuck.isEmpty)
        #expect(loaded.events[0].detail.contains("billing_export.csv line 2"))
        #expect(loaded.events[2].detail.contains("001000000000001AAA"))

        let retrying = try await trace("1000002")
        #expect(retrying.events.map(\.step) == [.extracted, .transformed, .retrying])
        #expect(retrying.stuck.map(\.position.topic) == [catalog.retryTopic(stage: .loader, tier: 1)])
        #expect(retrying.text.contains("sf.UNABLE_TO_LOCK_ROW"))

        let dead = try await trace("1000003")
        #expect(dead.events.map(\.step) == [.extracted, .deadLettered])
        #expect(dead.stuck.first?.redrive == "billsync dlq redrive --stage transformer --code rule.required --field /payload/name --key 1000003")
        #expect(dead.text.contains("Name is empty"))

        #expect(try await trace("9999999").events.isEmpty)
    }
}
