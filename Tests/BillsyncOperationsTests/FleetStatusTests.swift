import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncOperations
import BillsyncTestSupport
import BillsyncTopics
import Foundation
import Testing

/// `billsync status` from what a fleet's topics hold: heartbeats, dead letters, the alerter's state.
@Suite("The status shows each stage's workers, lag, retries and dead letters, the last loads and the API budget")
struct FleetStatusTests {
    let contracts = TestRepository.contracts

    func message<Payload: MessagePayload>(_ payload: Payload, topic: String, key: String) throws -> KafkaProducerMessage {
        let envelope = MessageEnvelope(source: MessageSource(system: .billsync, name: "tests"), businessKey: key, occurredAt: nil, payload: payload)
        return KafkaProducerMessage(topic: topic, key: Array(key.utf8), value: try contracts.encode(envelope))
    }

    @Test("a running loader with lag in its input and retry topic, a dead letter, a stopped transformer and the alerter's last load")
    func status() async throws {
        let catalog = TopicCatalog(partitions: 1, prefix: TestKafka.uniqueName("status"))
        try await KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger).createTopics(catalog.specifications)
        let now = Date()
        let loader = WorkerStatus(
            worker: "loader-1", stage: "loader", group: catalog.group(of: .loader), state: .running, reportedAt: Timestamp(now.addingTimeInterval(-5)),
            intervalSeconds: 15, handled: 6_000,
            partitions: [.init(topic: catalog.upsertCommands, partition: 0, position: 6_000, lagMessages: 900, lagSeconds: 2_400),
                         .init(topic: catalog.retryTopic(stage: .loader, tier: 1), partition: 0, position: 10, lagMessages: 12, lagSeconds: 0)],
            apiUsage: .init(used: 1_200, limit: 100_000), startedAt: Timestamp(now.addingTimeInterval(-600)))
        let transformer = WorkerStatus(worker: "transformer-1", stage: "transformer", group: catalog.group(of: .transformer), state: .stopped,
                                       reportedAt: Timestamp(now.addingTimeInterval(-5)), intervalSeconds: 15, handled: 10, partitions: [])
        let loads = AlertState(key: "loads/Account", kind: .objectLoads, updatedAt: Timestamp(now),
                               data: try JSONParser.parse(Array(#"{"object":"Account","lastSuccessAt":\#(now.addingTimeInterval(-3_600).timeIntervalSinceReferenceDate),"succeeded":{"minutes":[],"counts":[]},"failed":{"minutes":[],"counts":[]},"failureCodes":{},"examples":[]}"#.utf8)))
        let deadLetter = KafkaProducerMessage(topic: catalog.deadLetterTopic(stage: .loader), key: Array("0000000001".utf8), value: Array("{}".utf8),
                                              headers: [KafkaHeader(name: StageHeaders.stage, string: "loader"),
                                                        KafkaHeader(name: StageHeaders.errorCode, string: "STRING_TOO_LONG")])
        let producer = try TestKafka.producer()
        _ = try await producer.sendAll([
            try message(loader, topic: catalog.workers, key: loader.worker), try message(transformer, topic: catalog.workers, key: transformer.worker),
            try message(loads, topic: catalog.alerterState, key: loads.key), deadLetter,
        ])
        await producer.shutdown()

        let status = try await FleetStatus.read(connection: TestKafka.connection, catalog: catalog, contracts: contracts,
                                                groupID: TestKafka.uniqueName("status"), logger: TestKafka.logger, now: now)
        let line = try #require(status.stages.first { $0.stage == "loader" })
        #expect(line.workers.map(\.state) == ["running"])
        #expect(line.lagMessages == 912 && line.lagSeconds == 2_400 && line.inRetry == 12 && line.deadLetters == 1)
        #expect(abs((line.workers.first?.throughput ?? 0) - 10) < 0.01, "6,000 handled in 600 s")
        #expect(status.stages.first { $0.stage == "transformer" }?.workers.map(\.state) == ["stopped"])
        #expect(abs((status.lastLoads["Account"]?.timeIntervalSince(now) ?? 0) + 3_600) < 0.01)
        let text = status.text
        #expect(text.contains("40 min"))
        #expect(text.contains("Salesforce API: 1200 of 100000 today (1 %)"))
        #expect(text.contains("last successful load: Account"))
    }

    @Test("a member of a stage's group that sends no heartbeat is shown as such")
    func memberWithoutHeartbeat() async throws {
        let catalog = TopicCatalog(partitions: 1, prefix: TestKafka.uniqueName("status"))
        try await KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger).createTopics(catalog.specifications)
        var configuration = TestKafka.consumerConfiguration(group: catalog.group(of: .rollup), topics: catalog.inputs(of: .rollup))
        configuration.connection.clientID = "rollup-without-heartbeat"
        configuration.commitsOffsets = false
        let member = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await member.run() }
            #expect(await eventually(timeout: .seconds(60)) { !member.assignment.isEmpty })
            let status = try await FleetStatus.read(connection: TestKafka.connection, catalog: catalog, contracts: contracts,
                                                    groupID: TestKafka.uniqueName("status"), logger: TestKafka.logger)
            let line = try #require(status.stages.first { $0.stage == "rollup" })
            // One consumer; Tansu may still list the member ids it had before a rejoin under load.
            #expect(!line.groupMembers.isEmpty && line.groupMembers.allSatisfy { $0.hasPrefix("rollup-without-heartbeat") })
            #expect(line.membersWithoutHeartbeat == line.groupMembers.count)
            #expect(status.text.contains("0 running, \(line.groupMembers.count) in group without heartbeat"))
            member.triggerShutdown()
            try await tasks.waitForAll()
        }
    }
}
