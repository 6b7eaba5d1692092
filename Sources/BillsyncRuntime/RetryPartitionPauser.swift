import BillsyncKafka
import Foundation
import Logging
import Synchronization

/// Holds back a retry-topic partition whose next message is not due yet, without stalling the
/// stage's other partitions: the consumer pauses the partition on that message (`holdBack`),
/// and this resumes it when the message falls due. Messages in one retry topic share a delay,
/// so a partition's messages fall due in order and only its first one ever needs waiting for.
///
/// It sleeps on the worker's clock until the earliest due time, and wakes early when a
/// partition with an earlier one is added: no polling, and no real time in tests.
final class RetryPartitionPauser: Sendable {
    private struct State {
        var deferred: [KafkaTopicPartition: Date] = [:]
        /// The run loop, waiting for a change (a new deferral, or `finish`).
        var changeWaiter: CheckedContinuation<Void, Never>?
        var changed = false
    }

    private let consumer: KafkaConsumer
    private let clock: WallClock
    private let metrics: StageMetrics
    private let logger: Logger
    private let state = Mutex(State())

    init(consumer: KafkaConsumer, clock: WallClock, metrics: StageMetrics, logger: Logger) {
        self.consumer = consumer
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
    }

    /// Partitions held back now.
    var deferredPartitions: Set<KafkaTopicPartition> { state.withLock { Set($0.deferred.keys) } }

    /// Holds back `messages` (handed out, of one partition, in order; the first is not due
    /// until `due`). A partition that is no longer this member's needs nothing: its next owner
    /// reads the messages again and holds them back itself.
    func holdBack(_ messages: [KafkaConsumerMessage], until due: Date) async throws {
        guard let first = messages.first else { return }
        guard try await consumer.holdBack(messages) else {
            logger.debug("retry partition changed hands before it could be held back", metadata: [
                RuntimeLogKeys.topic: "\(first.topic)", RuntimeLogKeys.offset: "\(first.partition):\(first.offset)",
            ])
            return
        }
        let count = signal { $0.deferred[first.topicPartition] = due }
        metrics.deferredPartitions(count)
        logger.debug("retry partition waits until its next message is due", metadata: [
            RuntimeLogKeys.topic: "\(first.topic)", RuntimeLogKeys.offset: "\(first.partition):\(first.offset)",
            "billsync.due": "\(due)",
        ])
    }

    /// Resumes partitions as they fall due, until the task is cancelled.
    func run() async {
        while !Task.isCancelled {
            let earliest = state.withLock { state in
                state.changed = false
                return state.deferred.values.min()
            }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.waitForChange() }
                if let earliest {
                    group.addTask { try? await self.clock.sleep(until: earliest) }
                }
                await group.next()
                group.cancelAll()
            }
            let now = clock.now
            let (due, remaining) = state.withLock { state -> ([KafkaTopicPartition], Int) in
                let ready = state.deferred.filter { $0.value <= now }.map(\.key)
                for partition in ready { state.deferred[partition] = nil }
                return (ready, state.deferred.count)
            }
            guard !due.isEmpty else { continue }
            metrics.deferredPartitions(remaining)
            do {
                try await consumer.resume(due)
            } catch {
                // Revoked or shutting down meanwhile: its next owner reads it from the last commit.
                logger.debug("could not resume retry partitions", metadata: [RuntimeLogKeys.errorMessage: "\(error)"])
            }
        }
    }

    /// Changes the state and wakes the run loop; returns the partitions held back.
    private func signal(_ change: (inout State) -> Void) -> Int {
        let (waiter, count) = state.withLock { state -> (CheckedContinuation<Void, Never>?, Int) in
            change(&state)
            state.changed = true
            defer { state.changeWaiter = nil }
            return (state.changeWaiter, state.deferred.count)
        }
        waiter?.resume()
        return count
    }

    private func waitForChange() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.changed || Task.isCancelled { return true }
                    state.changeWaiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.changeWaiter = nil }
                return state.changeWaiter
            }
            waiter?.resume()
        }
    }
}
