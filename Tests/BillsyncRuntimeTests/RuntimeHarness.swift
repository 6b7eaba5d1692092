import BillsyncContracts
import BillsyncKafka
import BillsyncRuntime
import BillsyncTestSupport
import Foundation
import Logging
import Synchronization

/// Topics, contracts and messages for one runtime test, each test with its own topics.
struct RuntimeHarness {
    static let contracts = TestRepository.contracts

    let input: String
    let output: String
    let retryTopics: [String]
    let deadLetters: String
    let partitions: Int32
    let stage: String

    static func make(partitions: Int32 = 2) async throws -> RuntimeHarness {
        let names = try await TestKafka.createTopics("runtime", count: 5, partitions: partitions)
        return RuntimeHarness(input: names[0], output: names[1], retryTopics: [names[2], names[3]], deadLetters: names[4],
                              partitions: partitions, stage: "test-stage")
    }

    func configuration(inProcessAttempts: Int = 3, tiers: [Duration] = [.seconds(1), .seconds(2)]) -> StageRuntimeConfiguration {
        var configuration = StageRuntimeConfiguration(stage: stage, group: TestKafka.uniqueName("runtime-group"),
                                                      inputTopics: [input], retryTopics: retryTopics, deadLetterTopic: deadLetters)
        configuration.retry.inProcessAttempts = inProcessAttempts
        configuration.retry.initialBackoff = .milliseconds(10)
        configuration.retry.maximumBackoff = .milliseconds(50)
        configuration.retry.tiers = tiers
        configuration.worker = "test-worker"
        return configuration
    }

    /// A valid billing-account message whose customer id is `index` with leading zeros.
    static func account(_ index: Int) throws -> (key: String, value: [UInt8], id: UUID) {
        let customerId = String(format: "%010d", index)
        let message = MessageEnvelope(
            source: MessageSource(system: .csvDrop, name: "test"), businessKey: customerId, occurredAt: nil,
            payload: BillingAccount(customerId: customerId, accountId: "ACC-\(customerId)", name: "Customer \(index)",
                                    accountType: .residential, status: .active))
        return (customerId, try contracts.encode(message), message.id)
    }

    func seedAccounts(_ indices: Range<Int>, headers: [KafkaHeader] = []) async throws -> [UUID] {
        let producer = try TestKafka.producer()
        var ids: [UUID] = []
        var messages: [KafkaProducerMessage] = []
        for index in indices {
            let account = try Self.account(index)
            ids.append(account.id)
            messages.append(KafkaProducerMessage(topic: input, key: Array(account.key.utf8), value: account.value, headers: headers))
        }
        _ = try await producer.sendAll(messages)
        await producer.shutdown()
        return ids
    }

    func seedRaw(key: String, value: [UInt8]) async throws {
        let producer = try TestKafka.producer()
        _ = try await producer.send(KafkaProducerMessage(topic: input, key: Array(key.utf8), value: value))
        await producer.shutdown()
    }

    /// Every message of a topic from the beginning (no group), until `count` arrived or the timeout.
    func read(_ topic: String, count: Int, timeout: Duration = .seconds(60)) async throws -> [KafkaConsumerMessage] {
        try await TestKafka.read(topic, partitions: partitions, count: count, timeout: timeout)
    }

    /// Everything a topic holds now: for counting what stopped workers wrote.
    func readToEnd(_ topic: String) async throws -> [KafkaConsumerMessage] {
        try await TestKafka.readToEnd(topic, partitions: partitions)
    }

    /// Writes accounts straight into a retry topic, as a stage would after a failure, due at `dueAt`.
    func seedRetries(_ indices: some Sequence<Int>, tier: Int = 0, dueAt: Date) async throws {
        let producer = try TestKafka.producer()
        var messages: [KafkaProducerMessage] = []
        for index in indices {
            let account = try Self.account(index)
            let headers = [
                KafkaHeader(name: StageHeaders.originTopic, value: Array(input.utf8)),
                KafkaHeader(name: StageHeaders.attempts, value: Array("1".utf8)),
                KafkaHeader(name: StageHeaders.dueAt, value: Array(String(Int64(dueAt.timeIntervalSince1970 * 1000)).utf8)),
            ]
            messages.append(KafkaProducerMessage(topic: retryTopics[tier], key: Array(account.key.utf8), value: account.value, headers: headers))
        }
        _ = try await producer.sendAll(messages)
        await producer.shutdown()
    }

    /// Runs a runtime with its own producer and consumer until `body` returns, then shuts it down gracefully.
    func run<Handler: StageHandler>(
        _ handler: Handler, configuration: StageRuntimeConfiguration, metrics: StageMetrics? = nil,
        body: @escaping @Sendable () async throws -> Void
    ) async throws {
        try await run(handler, configuration: configuration, metrics: metrics) { (_: StageRuntime<Handler>) in try await body() }
    }

    /// The same, handing `body` the runtime; on `clock`, logging to `logger` (consumer included).
    func run<Handler: StageHandler>(
        _ handler: Handler, configuration: StageRuntimeConfiguration, metrics: StageMetrics? = nil,
        clock: WallClock = .system, logger: Logger = TestKafka.logger,
        body: @escaping @Sendable (StageRuntime<Handler>) async throws -> Void
    ) async throws {
        let producer = try TestKafka.producer()
        let consumer = try KafkaConsumer(
            configuration: TestKafka.consumerConfiguration(group: configuration.group, topics: [input] + retryTopics),
            logger: logger)
        let runtime = StageRuntime(configuration: configuration, handler: handler, contracts: Self.contracts,
                                   consumer: consumer, producer: producer,
                                   metrics: metrics ?? StageMetrics(stage: stage), clock: clock, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runtime.run() }
            try await body(runtime)
            consumer.triggerShutdown()
            try await group.waitForAll()
        }
        await producer.shutdown()
    }
}

/// A handler that fails as scripted, per customer id, and counts its attempts.
final class ScriptedHandler: RecordHandler, Sendable {
    typealias Input = MessageEnvelope<BillingAccount>

    let output: String
    private let attempts = Mutex<[String: Int]>([:])
    private let script: @Sendable (_ customerId: String, _ attempt: Int) -> StageFailure?

    init(output: String, script: @escaping @Sendable (_ customerId: String, _ attempt: Int) -> StageFailure?) {
        self.output = output
        self.script = script
    }

    func attempts(of customerId: String) -> Int { attempts.withLock { $0[customerId] ?? 0 } }

    func handle(_ message: ContractMessage<BillingAccount>) async throws -> [OutgoingMessage] {
        let customerId = message.envelope.payload.customerId
        let attempt = attempts.withLock { counts in
            counts[customerId, default: 0] += 1
            return counts[customerId]!
        }
        if let failure = script(customerId, attempt) { throw failure }
        let forwarded = message.envelope.derived(payload: message.envelope.payload)
        return [try OutgoingMessage(topic: output, message: forwarded, contracts: RuntimeHarness.contracts)]
    }
}

extension KafkaConsumerMessage {
    func header(_ name: String) -> String? {
        headers.last { $0.name == name }?.value.map { String(decoding: $0, as: UTF8.self) }
    }
}
