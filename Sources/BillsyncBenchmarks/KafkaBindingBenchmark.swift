import BillsyncKafka
import Foundation
import Logging
import Synchronization

/// Measures the binding's produce and consume throughput and librdkafka's own tool's on the same
/// broker, topic shape (one partition), message size and producer settings, in one run.
public struct KafkaBindingBenchmark: Sendable {
    public var connection: KafkaConnection
    public var tool: RdkafkaPerformanceTool
    public var messages = 500_000
    public var messageBytes = 300
    /// Each measure is taken this many times; the best run counts (the least disturbed by the machine).
    public var repetitions = 4
    /// The ratio to librdkafka's tool that the binding must reach.
    public var target = 0.9
    public var logger: Logger

    public init(connection: KafkaConnection, tool: RdkafkaPerformanceTool, logger: Logger) {
        self.connection = connection
        self.tool = tool
        self.logger = logger
    }

    /// Producer settings shared by both sides: billsync's defaults, without compression so the
    /// tool's repetitive payload does not compress to nothing and flatter it.
    var producerProperties: [String: String] {
        ["acks": "all", "enable.idempotence": "true", "linger.ms": "5", "compression.codec": "none"]
    }

    /// Consumer settings shared by both sides: rdkafka_performance's own prefetch depth.
    var consumerProperties: [String: String] {
        ["queued.min.messages": "1000000"]
    }

    public func run() async throws -> BenchmarkReport {
        let admin = try KafkaAdmin(connection: connection, logger: logger)
        // Topics are deleted only at the end, by a client of their own, once every other client
        // has closed: librdkafka 2.8 can corrupt its metadata cache (and crash) when topics it
        // knows are deleted under it (librdkafka issues 4778 and 4964, fixed in later releases).
        var created: [String] = []
        defer { Self.deleteLater(created, connection: connection, logger: logger) }
        let brokers = connection.bootstrapServers.joined(separator: ",")
        var produced: [(ThroughputFigure, ThroughputFigure)] = []
        var consumed: [(ThroughputFigure, ThroughputFigure)] = []
        for round in 0..<repetitions {
            let ours = "bench-binding-\(round)-\(UUID().uuidString.prefix(6))"
            let theirs = "bench-tool-\(round)-\(UUID().uuidString.prefix(6))"
            try await admin.createTopics([KafkaTopicSpecification(name: ours, partitions: 1),
                                          KafkaTopicSpecification(name: theirs, partitions: 1)])
            // Alternate who goes first, so neither side always meets a broker warmed (or
            // burdened) by the other.
            let bindingFirst = round % 2 == 0
            var ourProduce = ThroughputFigure.zero, toolProduce = ThroughputFigure.zero
            for side in bindingFirst ? [true, false] : [false, true] {
                if side {
                    ourProduce = try await produceWithBinding(topic: ours)
                } else {
                    toolProduce = try await tool.produce(topic: theirs, brokers: brokers, count: messages,
                                                         size: messageBytes, properties: producerProperties)
                }
            }
            produced.append((ourProduce, toolProduce))
            var ourConsume = ThroughputFigure.zero, toolConsume = ThroughputFigure.zero
            for side in bindingFirst ? [true, false] : [false, true] {
                if side {
                    ourConsume = try await consumeWithBinding(topic: ours)
                } else {
                    toolConsume = try await tool.consume(topic: theirs, brokers: brokers, count: messages,
                                                         properties: consumerProperties)
                }
            }
            consumed.append((ourConsume, toolConsume))
            logger.info("round \(round + 1) of \(repetitions) done")
            created += [ours, theirs]
        }
        func best(_ figures: [ThroughputFigure]) -> ThroughputFigure {
            figures.max { $0.messagesPerSecond < $1.messagesPerSecond }!
        }
        return BenchmarkReport(
            benchmark: "kafka-binding",
            settings: [
                "messages": String(messages), "bytes": String(messageBytes), "partitions": "1",
                "runs": "best of \(repetitions)", "librdkafka": Librdkafka.version, "brokers": brokers,
            ],
            comparisons: [
                BenchmarkComparison(name: "produce", measured: best(produced.map(\.0)), reference: best(produced.map(\.1)),
                                    referenceName: "rdkafka_performance -P", target: target),
                BenchmarkComparison(name: "consume", measured: best(consumed.map(\.0)), reference: best(consumed.map(\.1)),
                                    referenceName: "rdkafka_performance -C", target: target),
            ]
        )
    }

    private static func deleteLater(_ topics: [String], connection: KafkaConnection, logger: Logger) {
        pendingDeletion.withLock { $0 = (topics, connection, logger) }
    }

    private static let pendingDeletion = Mutex<(topics: [String], connection: KafkaConnection, logger: Logger)?>(nil)

    /// Deletes the benchmark's topics; call after every other client closed.
    public static func deleteTopics() async {
        guard let pending = pendingDeletion.withLock({ $0.take() }), !pending.topics.isEmpty else { return }
        await KafkaClients.waitUntilClosed()
        do {
            let admin = try KafkaAdmin(connection: pending.connection, logger: pending.logger)
            try await admin.deleteTopics(pending.topics)
        } catch {
            pending.logger.warning("could not delete the benchmark's topics \(pending.topics): \(error)")
        }
        await KafkaClients.waitUntilClosed()
    }

    /// From the first send until the last delivery report, as the tool measures it.
    func produceWithBinding(topic: String) async throws -> ThroughputFigure {
        var configuration = KafkaProducerConfiguration(connection: connection)
        configuration.properties = producerProperties
        configuration.maximumQueuedMessages = 500_000
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        let payload = [UInt8](repeating: UInt8(ascii: "b"), count: messageBytes)
        let clock = ContinuousClock()
        let started = clock.now
        for _ in 0..<messages {
            try await producer.sendDetached(KafkaProducerMessage(topic: topic, partition: 0, value: payload))
        }
        try await producer.flush(timeout: .seconds(120))
        let elapsed = clock.now - started
        await producer.shutdown()
        let counters = producer.counters
        guard counters.delivered == messages else {
            throw BenchmarkError.incomplete("binding delivered \(counters.delivered) of \(messages) (\(counters.failed) failed)")
        }
        return ThroughputFigure(messages: messages, bytes: messages * messageBytes, seconds: elapsed.seconds)
    }

    /// From the first message received until the last, marking each done, as a stage would.
    func consumeWithBinding(topic: String) async throws -> ThroughputFigure {
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        var configuration = KafkaConsumerConfiguration(
            connection: connection, groupID: "bench-\(UUID().uuidString.prefix(6))",
            subscription: .partitions([partition: KafkaOffset.beginning])
        )
        configuration.drainTimeout = .seconds(1)
        configuration.properties = consumerProperties
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: ThroughputFigure?.self) { group in
            group.addTask { try await consumer.run(); return nil }
            group.addTask {
                let clock = ContinuousClock()
                var started: ContinuousClock.Instant?
                var count = 0
                var bytes = 0
                // As a stage reads: what was fetched together, marked done together.
                var iterator = consumer.messages.makeAsyncIterator()
                while count < messages {
                    let batch = try await iterator.next(upTo: 1_024)
                    if batch.isEmpty { break }
                    if started == nil { started = clock.now }
                    for message in batch { bytes += message.value?.count ?? 0 }
                    count += batch.count
                    consumer.markDone(batch)
                }
                let elapsed = started.map { clock.now - $0 } ?? .zero
                consumer.triggerShutdown()
                return ThroughputFigure(messages: count, bytes: bytes, seconds: elapsed.seconds)
            }
            var figure: ThroughputFigure?
            for try await result in group where result != nil { figure = result }
            guard let figure, figure.messages == messages else {
                throw BenchmarkError.incomplete("binding consumed \(figure?.messages ?? 0) of \(messages)")
            }
            return figure
        }
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
