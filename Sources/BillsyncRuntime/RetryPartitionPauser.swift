import BillsyncKafka
import Foundation
import Logging
import Synchronization

/// Holds back a retry-topic partition whose next message is not due yet, without stalling the
/// stage's other partitions: the partition is paused and re-positioned on that message, and
/// resumed when it is due. Messages in one retry topic share a delay, so a partition's messages
/// fall due in order and only its first one ever needs waiting for.
final class RetryPartitionPauser: Sendable {
    private struct State {
        var deferred: [KafkaTopicPartition: Date] = [:]
        var finished = false
    }

    private let consumer: KafkaConsumer
    private let logger: Logger
    private let state = Mutex(State())

    init(consumer: KafkaConsumer, logger: Logger) {
        self.consumer = consumer
        self.logger = logger
    }

    func `defer`(_ partition: KafkaTopicPartition, offset: Int64, until due: Date) async throws {
        try await consumer.pause([partition])
        try await consumer.seek(partition, to: offset)
        state.withLock { $0.deferred[partition] = due }
        logger.debug("retry partition waits until its next message is due", metadata: [
            RuntimeLogKeys.topic: "\(partition.topic)", RuntimeLogKeys.offset: "\(partition.partition):\(offset)",
            "billsync.due": "\(due)",
        ])
    }

    /// Resumes partitions as they fall due, until `finish()`.
    func run() async {
        while !state.withLock({ $0.finished }) {
            try? await Task.sleep(for: .milliseconds(100))
            let now = Date()
            let due = state.withLock { state -> [KafkaTopicPartition] in
                let ready = state.deferred.filter { $0.value <= now }.map(\.key)
                for partition in ready { state.deferred[partition] = nil }
                return ready
            }
            guard !due.isEmpty else { continue }
            do {
                try await consumer.resume(due)
            } catch {
                // Revoked meanwhile: its next owner reads it from the last commit.
                logger.debug("could not resume retry partitions", metadata: [RuntimeLogKeys.errorMessage: "\(error)"])
            }
        }
    }

    func finish() {
        state.withLock { $0.finished = true }
    }
}
