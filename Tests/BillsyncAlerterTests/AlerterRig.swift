import BillsyncAlerter
import BillsyncContracts
import BillsyncKafka
import BillsyncRuntime
import BillsyncTestSupport
import BillsyncTopics
import Foundation
import Logging

/// A fleet's topics of its own on the real broker, and an alerter on them with a manual clock:
/// a test writes what the fleet would (dead letters, results, heartbeats, silences), waits until
/// the alerter's group committed it, steps the clock and runs one evaluation round, then counts
/// what arrived at the receivers.
struct AlerterRig {
    let catalog: TopicCatalog
    let manual: ManualClock
    let clock: WallClock
    let start: Date
    static let contracts = TestRepository.contracts

    static func make() async throws -> AlerterRig {
        let catalog = TopicCatalog(partitions: 1, prefix: TestKafka.uniqueName("alerts"))
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        try await admin.createTopics(catalog.specifications)
        let start = Date()
        let manual = ManualClock()
        return AlerterRig(catalog: catalog, manual: manual, clock: WallClock(manual, startingAt: start), start: start)
    }

    static func rules() -> AlertRules {
        var rules = AlertRules()
        rules.lifecycle.groupWait = .seconds(30)
        rules.discrepancy.settle = .seconds(600)
        return rules
    }

    /// Runs an alerter (its stage and its table follower; its rounds only when the test calls
    /// `evaluateOnce`, so no round overlaps another) while `body` runs, then stops it as SIGTERM
    /// would: the stage commits what it finished.
    func running<T: Sendable>(
        channels: [any AlertChannel], rules: AlertRules = rules(), accounting: RunAccounting? = nil,
        _ body: (AlerterService, AlerterEngine) async throws -> T
    ) async throws -> T {
        let logger = TestKafka.logger
        let producer = try TestKafka.producer()
        let delivery = ChannelDelivery(maximumAttempts: 1, clock: clock, logger: logger)
        // As the worker does: every notification also goes to the alerts topic.
        let channels = channels + [AlertsTopicChannel(topic: catalog.alerts, producer: producer, contracts: Self.contracts)]
        let engine = AlerterEngine(rules: rules, catalog: catalog, channels: channels, send: { await delivery.deliver($0, to: $1) },
                                   clock: clock, logger: logger)
        let group = catalog.group(of: .alerter)
        var configuration = StageRuntimeConfiguration(stage: "alerter", group: group, inputTopics: catalog.inputs(of: .alerter),
                                                      retryTopics: catalog.retryTopics(stage: .alerter),
                                                      deadLetterTopic: catalog.deadLetterTopic(stage: .alerter))
        configuration.worker = "test-alerter"
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: group, topics: configuration.inputTopics
                                                                                         + configuration.retryTopics), logger: logger)
        let runtime = StageRuntime(configuration: configuration, handler: AlerterHandler(engine: engine, contracts: Self.contracts,
                                                                                          stateTopic: catalog.alerterState),
                                   contracts: Self.contracts, consumer: consumer, producer: producer,
                                   metrics: StageMetrics(stage: "alerter"), clock: clock, logger: logger)
        let service = AlerterService(engine: engine, runtime: runtime, connection: TestKafka.connection, catalog: catalog,
                                     contracts: Self.contracts, producer: producer, accounting: accounting, reporter: nil,
                                     clock: clock, logger: logger, runsRounds: false)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await service.run() }
            do {
                _ = await eventually(timeout: .seconds(60)) { runtime.hasJoinedGroup }
                let result = try await body(service, engine)
                consumer.triggerShutdown()
                try await tasks.waitForAll()
                await producer.shutdown()
                return result
            } catch {
                consumer.triggerShutdown()
                await producer.shutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    /// Writes messages as the fleet would, and waits until the alerter's group has committed
    /// every one of them: from then on, what it does with them can be observed.
    func publish(_ messages: [KafkaProducerMessage]) async throws {
        let producer = try TestKafka.producer()
        for report in try await producer.sendAll(messages) where !report.isDelivered {
            throw report.error!
        }
        await producer.shutdown()
        let inputs = Set(messages.map(\.topic)).intersection(catalog.inputs(of: .alerter))
        if !inputs.isEmpty {
            let consumed = try await TestKafka.waitUntilConsumed(group: catalog.group(of: .alerter), topics: Array(inputs), partitions: 1)
            guard consumed else { throw RigError(description: "the alerter did not consume \(inputs.sorted())") }
        }
    }

    func deadLetters(_ count: Int, from first: Int = 0, code: String = "STRING_TOO_LONG", replay: Bool = false) throws -> [KafkaProducerMessage] {
        try (first..<(first + count)).map { index in
            let message = try AlertRulesTests.loaderDeadLetter(customer: String(format: "%010d", index), code: code, at: clock.now,
                                                               offset: Int64(index), replay: replay)
            return KafkaProducerMessage(topic: catalog.deadLetterTopic(stage: .loader), key: message.key, value: message.value,
                                        headers: message.headers)
        }
    }

    func message<Payload: MessagePayload>(_ payload: Payload, topic: String, key: String) throws -> KafkaProducerMessage {
        let envelope = MessageEnvelope(source: MessageSource(system: .billsync, name: "tests"), businessKey: key,
                                       occurredAt: Timestamp(clock.now), payload: payload)
        return KafkaProducerMessage(topic: topic, key: Array(key.utf8), value: try Self.contracts.encode(envelope))
    }

    /// Every alert the alerter published to the alerts topic so far.
    func alertsPublished() async throws -> [Alert] {
        try await TestKafka.readToEnd(catalog.alerts, partitions: 1).compactMap { message in
            try message.value.map { try Self.contracts.decode($0, as: Alert.self).payload }
        }
    }

    struct RigError: Error, CustomStringConvertible {
        let description: String
    }
}
