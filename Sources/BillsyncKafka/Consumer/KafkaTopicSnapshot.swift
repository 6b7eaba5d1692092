import Foundation
import Logging

/// Everything some topics hold now, from the beginning to the end their reader's own fetch
/// answers report (high watermarks newer than the call), without joining a group: how a worker
/// takes back its state from a compacted topic before it starts, and how tests count what a
/// stopped worker wrote. ListOffsets is not used: the local broker answers it wrongly.
public enum KafkaTopicSnapshot {
    public struct Snapshot: Sendable {
        public var messages: [KafkaConsumerMessage]
        /// The offset each partition gives its next message.
        public var ends: [KafkaTopicPartition: Int64]
    }

    /// Reads `partitions` from `start` (per partition; the beginning where not given) to their end.
    public static func read(
        _ partitions: [KafkaTopicPartition], from start: [KafkaTopicPartition: Int64] = [:], connection: KafkaConnection, groupID: String,
        timeout: Duration = .seconds(60), logger: Logger
    ) async throws -> Snapshot {
        guard !partitions.isEmpty else { return Snapshot(messages: [], ends: [:]) }
        let offsets = Dictionary(uniqueKeysWithValues: partitions.map { ($0, start[$0] ?? KafkaOffset.beginning) })
        var configuration = KafkaConsumerConfiguration(connection: connection, groupID: groupID, subscription: .partitions(offsets))
        configuration.drainTimeout = .milliseconds(100)
        configuration.commitsOffsets = false
        // An empty partition's end arrives with a fetch answer the broker holds back this long.
        configuration.properties["fetch.wait.max.ms"] = "100"
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Snapshot?.self) { group in
            group.addTask { try await consumer.run(); return nil }
            group.addTask {
                defer { consumer.triggerShutdown() }
                var iterator = consumer.messages.makeAsyncIterator()
                var snapshot = Snapshot(messages: [], ends: [:])
                var next: [KafkaTopicPartition: Int64] = start
                let clock = ContinuousClock()
                let deadline = clock.now + timeout
                while true {
                    while case let batch = try iterator.nextIfAvailable(upTo: 10_000), !batch.isEmpty {
                        snapshot.messages.append(contentsOf: batch)
                        for message in batch { next[message.topicPartition] = message.offset + 1 }
                        consumer.markDone(batch)
                    }
                    let atEnd = partitions.allSatisfy { partition in
                        guard let marks = consumer.cachedWatermarks(for: partition) else { return false }
                        snapshot.ends[partition] = marks.high
                        return max(next[partition] ?? 0, marks.low) >= marks.high
                    }
                    if atEnd { return snapshot }
                    guard clock.now < deadline else {
                        throw KafkaError(kind: .broker, message: "\(Set(partitions.map(\.topic)).sorted().joined(separator: ", ")) not read to the end within \(timeout)")
                    }
                    // Nothing signals "a fetch answer's watermark moved": the end can only be checked for.
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            var result = Snapshot(messages: [], ends: [:])
            for try await snapshot in group { if let snapshot { result = snapshot } }
            return result
        }
    }
}
