import BillsyncKafka
import Foundation
import Logging
import Synchronization

/// Where each source got to (a watermark, the files already read), kept in a compacted Kafka
/// topic: the latest value per key survives forever, and every extractor instance reads the same
/// state. A checkpoint is saved only after the records it covers were acknowledged by the broker,
/// so a restart neither skips nor repeats a window.
public final class KafkaCheckpointStore: Sendable {
    private let connection: KafkaConnection
    private let topic: String
    private let producer: KafkaProducer
    private let logger: Logger

    public init(connection: KafkaConnection, topic: String, logger: Logger) throws {
        self.connection = connection
        self.topic = topic
        self.logger = logger
        producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: connection), logger: logger)
    }

    /// Saves a checkpoint and waits for the broker's acknowledgement.
    public func save(_ key: String, value: some Encodable) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        _ = try await producer.send(KafkaProducerMessage(topic: topic, key: Array(key.utf8), value: [UInt8](try encoder.encode(value))))
    }

    /// Every key's latest checkpoint, read from the beginning of the topic up to its end.
    public func load<Value: Decodable>(_ type: Value.Type, timeout: Duration = .seconds(30)) async throws -> [String: Value] {
        let decoder = JSONDecoder()
        return try await latestValues(timeout: timeout).mapValues { try decoder.decode(Value.self, from: Data($0)) }
    }

    /// One key's latest checkpoint (keys of other sources hold other shapes).
    public func load<Value: Decodable>(_ type: Value.Type, key: String, timeout: Duration = .seconds(30)) async throws -> Value? {
        try await latestValues(timeout: timeout)[key].map { try JSONDecoder().decode(Value.self, from: Data($0)) }
    }

    private func latestValues(timeout: Duration) async throws -> [String: [UInt8]] {
        let admin = try KafkaAdmin(connection: connection, logger: logger)
        guard let description = try await admin.describeTopic(topic) else {
            throw KafkaError(kind: .configuration, message: "the checkpoint topic \(topic) does not exist")
        }
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for partition in description.partitions { offsets[KafkaTopicPartition(topic: topic, partition: partition.id)] = KafkaOffset.beginning }
        var configuration = KafkaConsumerConfiguration(connection: connection, groupID: "billsync-checkpoint-reader-\(UUID().uuidString.prefix(8))",
                                                       subscription: .partitions(offsets))
        configuration.drainTimeout = .milliseconds(100)
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        let progress = ReadProgress()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            group.addTask {
                for try await message in consumer.messages {
                    progress.record(message)
                }
                progress.readerEnded()
            }
            // Done when every partition was read up to the high watermark the fetches report
            // (Tansu's ListOffsets "latest" cannot be trusted; fetch responses can).
            let deadline = ContinuousClock.now.advanced(by: timeout)
            while true {
                let caughtUp = offsets.keys.allSatisfy { partition in
                    guard let high = consumer.cachedWatermarks(for: partition)?.high, high >= 0 else { return false }
                    return high == 0 || progress.position(of: partition) >= high
                }
                if caughtUp { break }
                // The reader stops with the worker (SIGTERM during startup): there is no end to wait for.
                guard !progress.hasReaderEnded else {
                    throw KafkaError(kind: .shutdown, message: "the checkpoint reader of \(topic) stopped before it caught up: the worker is stopping")
                }
                guard ContinuousClock.now < deadline else {
                    consumer.triggerShutdown()
                    throw KafkaError(kind: .broker, message: "reading the checkpoint topic \(topic) did not finish within \(timeout)", isRetriable: true)
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            consumer.triggerShutdown()
            try await group.waitForAll()
        }
        return progress.latest.compactMapValues { $0 }
    }

    public func close() async {
        await producer.shutdown()
    }
}

/// What the checkpoint reader has seen: the latest value per key and how far each partition got.
private final class ReadProgress: Sendable {
    private let state = Mutex<(latest: [String: [UInt8]?], reached: [KafkaTopicPartition: Int64], ended: Bool)>(([:], [:], false))

    func record(_ message: KafkaConsumerMessage) {
        state.withLock { state in
            if let key = message.keyString { state.latest[key] = .some(message.value) }
            state.reached[message.topicPartition] = message.offset + 1
        }
    }

    func position(of partition: KafkaTopicPartition) -> Int64 { state.withLock { $0.reached[partition] ?? 0 } }

    var latest: [String: [UInt8]?] { state.withLock { $0.latest } }

    func readerEnded() { state.withLock { $0.ended = true } }
    var hasReaderEnded: Bool { state.withLock { $0.ended } }
}
