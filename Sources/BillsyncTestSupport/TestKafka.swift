import BillsyncKafka
import Foundation
import Logging

/// The broker integration tests run against: `KAFKA_BROKERS` (any Kafka-protocol cluster),
/// by default the local broker that `scripts/test.sh` starts.
public enum TestKafka {
    public static var connection: KafkaConnection {
        KafkaConnection.fromEnvironment(ProcessInfo.processInfo.environment, clientID: "billsync-tests")
    }

    /// A logger that stays quiet unless `BILLSYNC_TEST_LOG_LEVEL` asks for more.
    public static var logger: Logger {
        var logger = Logger(label: "billsync.tests")
        let level = ProcessInfo.processInfo.environment["BILLSYNC_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        logger.logLevel = level ?? .error
        return logger
    }

    /// A name no other test (or earlier run against the same cluster) uses.
    public static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Creates topics with unique names and returns them.
    public static func createTopics(_ prefix: String, count: Int = 1, partitions: Int32) async throws -> [String] {
        let admin = try KafkaAdmin(connection: connection, logger: logger)
        let names = (0..<count).map { _ in uniqueName(prefix) }
        try await admin.createTopics(names.map { KafkaTopicSpecification(name: $0, partitions: partitions) })
        return names
    }

    public static func producer() throws -> KafkaProducer {
        var configuration = KafkaProducerConfiguration(connection: connection)
        configuration.linger = .milliseconds(1)
        return try KafkaProducer(configuration: configuration, logger: logger)
    }

    /// Produces `count` messages (keys `k0…`, values `m0…` unless given) and waits for every acknowledgement.
    public static func seed(
        _ topic: String,
        count: Int,
        key: (Int) -> String = { "k\($0)" },
        value: (Int) -> String = { "m\($0)" }
    ) async throws {
        let producer = try producer()
        _ = try await producer.sendAll((0..<count).map { KafkaProducerMessage(topic: topic, key: key($0), value: value($0)) })
        await producer.shutdown()
    }

    /// A consumer configuration suited to tests on any broker: a 6 s session timeout (Kafka's
    /// minimum) keeps group joins short; Tansu takes about half the session timeout to assign.
    public static func consumerConfiguration(group: String, topics: [String]) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(connection: connection, groupID: group, subscription: .topics(topics))
        configuration.sessionTimeout = .seconds(6)
        configuration.commitInterval = .milliseconds(500)
        configuration.drainTimeout = .seconds(5)
        configuration.properties["heartbeat.interval.ms"] = "500"
        return configuration
    }
}

extension TestKafka {
    /// Every message of a topic from the beginning, without a group, until `count` arrived or
    /// `timeout` passed (a failing test then shows what did arrive).
    public static func read(_ topic: String, partitions: Int32, count: Int, timeout: Duration = .seconds(60)) async throws -> [KafkaConsumerMessage] {
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for partition in 0..<partitions { offsets[KafkaTopicPartition(topic: topic, partition: partition)] = KafkaOffset.beginning }
        var configuration = KafkaConsumerConfiguration(connection: connection, groupID: uniqueName("reader"), subscription: .partitions(offsets))
        configuration.drainTimeout = .milliseconds(100)
        configuration.commitsOffsets = false
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: [KafkaConsumerMessage]?.self) { group in
            group.addTask { try await consumer.run(); return nil }
            group.addTask {
                defer { consumer.triggerShutdown() }
                return try await collect(count, from: consumer.messages, timeout: timeout) { consumer.markDone($0) }
            }
            var result: [KafkaConsumerMessage] = []
            for try await messages in group { if let messages { result = messages } }
            return result
        }
    }
}

extension TestKafka {
    /// Every message a topic holds now, from the beginning to the end that the reader's own
    /// fetch answers report (their high watermarks, newer than the call). For counting what a
    /// stopped worker wrote: what it had acknowledged is all there, so no wait for "nothing
    /// more" is needed.
    public static func readToEnd(_ topic: String, partitions: Int32, timeout: Duration = .seconds(60)) async throws -> [KafkaConsumerMessage] {
        try await readWithEnds([topic], partitions: partitions, timeout: timeout).messages
    }

    /// The offset each partition of `topics` will give its next message, from a reader's own
    /// fetch answers: the local broker answers ListOffsets wrongly.
    public static func ends(of topics: [String], partitions: Int32, timeout: Duration = .seconds(60)) async throws -> [KafkaTopicPartition: Int64] {
        try await readWithEnds(topics, partitions: partitions, timeout: timeout).ends
    }

    private static func readWithEnds(
        _ topics: [String], partitions: Int32, timeout: Duration
    ) async throws -> (messages: [KafkaConsumerMessage], ends: [KafkaTopicPartition: Int64]) {
        let all = topics.flatMap { topic in (0..<partitions).map { KafkaTopicPartition(topic: topic, partition: $0) } }
        let snapshot = try await KafkaTopicSnapshot.read(all, connection: connection, groupID: uniqueName("reader"), timeout: timeout, logger: logger)
        return (snapshot.messages, snapshot.ends)
    }

    /// Waits until a stage's group has committed every message of `topics` (all the stage
    /// reads, retry tiers included): a stage marks an input done only once the broker has all
    /// it wrote for it, so from then on its outcomes can be counted on their topics, and "it
    /// did nothing with it" is an observation, not a guess from a quiet period.
    ///
    /// The ends are read again after the commits caught up with them, since a retry written
    /// meanwhile moves an end on. Commits that cover ends read after them cover everything: what
    /// a stage writes for an input is on the broker before the input is committed (and the test
    /// has stopped writing to `topics` itself).
    /// - Returns: whether that happened before `timeout`.
    public static func waitUntilConsumed(
        group: String, topics: [String], partitions: Int32, timeout: Duration = .seconds(60)
    ) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        // Asks without joining the group, so the stage's own members are not rebalanced.
        let probe = try KafkaConsumer(configuration: consumerConfiguration(group: group, topics: []), logger: logger)
        var ends = try await ends(of: topics, partitions: partitions, timeout: timeout)
        while true {
            var committed: [KafkaTopicPartition: Int64] = [:]
            let caughtUp = try await eventually(timeout: max(deadline - .now, .zero), every: .milliseconds(100)) {
                committed = try await probe.committedOffsets(for: Array(ends.keys))
                // A partition the group never committed on reads as invalid (negative).
                return ends.allSatisfy { partition, end in max(committed[partition] ?? 0, 0) >= end }
            }
            guard caughtUp else { return false }
            ends = try await self.ends(of: topics, partitions: partitions, timeout: max(deadline - .now, .seconds(1)))
            if ends.allSatisfy({ partition, end in max(committed[partition] ?? 0, 0) >= end }) { return true }
        }
    }
}
