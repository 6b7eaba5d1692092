import BillsyncKafka
import Foundation
import Synchronization

/// How far behind a stage is on one partition it reads.
public struct PartitionLag: Sendable, Hashable {
    /// Messages in the partition after the last one the stage finished, from the high
    /// watermark of the latest fetch answer (not ListOffsets, which the local broker answers
    /// wrongly).
    public var messages: Int64
    /// Age of the oldest message the stage has taken and not finished: "the loader is 40
    /// minutes behind". Zero when it has nothing in hand. A retry held back until it is due
    /// counts in `messages`, not here: it is waiting on purpose.
    public var oldestUnprocessedAge: Duration

    public init(messages: Int64, oldestUnprocessedAge: Duration) {
        self.messages = messages
        self.oldestUnprocessedAge = oldestUnprocessedAge
    }
}

/// A stage's lag on every partition it has worked on.
public struct StageLag: Sendable, Hashable {
    public var partitions: [KafkaTopicPartition: PartitionLag]

    public init(partitions: [KafkaTopicPartition: PartitionLag] = [:]) {
        self.partitions = partitions
    }

    public var totalMessages: Int64 { partitions.values.reduce(0) { $0 + $1.messages } }
    public var oldestUnprocessedAge: Duration { partitions.values.map(\.oldestUnprocessedAge).max() ?? .zero }
}

/// Follows what a stage took and finished per partition, to tell its lag at any time.
final class StageLagTracker: Sendable {
    private struct Taken {
        let offset: Int64
        let timestamp: Date?
    }

    private struct State {
        /// The next offset after the last finished message.
        var position: [KafkaTopicPartition: Int64] = [:]
        /// The first message of each chunk in hand, oldest first.
        var inHand: [KafkaTopicPartition: [Taken]] = [:]
        /// Messages finished since the start.
        var handled = 0
    }

    private let state = Mutex(State())
    private let watermarks: @Sendable (KafkaTopicPartition) -> KafkaWatermarks?

    init(watermarks: @escaping @Sendable (KafkaTopicPartition) -> KafkaWatermarks?) {
        self.watermarks = watermarks
    }

    func taken(_ chunk: some Collection<KafkaConsumerMessage>) {
        var firsts: [KafkaTopicPartition: Taken] = [:]
        for run in chunk.partitionRuns() where firsts[run.partition] == nil {
            let first = run.messages.first!
            firsts[run.partition] = Taken(offset: first.offset, timestamp: first.timestamp)
        }
        state.withLock { state in
            for (partition, taken) in firsts { state.inHand[partition, default: []].append(taken) }
        }
    }

    /// Messages of a partition from `offset` on went back to be read again (a retry not due
    /// yet): everything before them is done or in hand, so the partition's lag counts from them.
    func handedBack(_ partition: KafkaTopicPartition, from offset: Int64) {
        state.withLock { state in
            state.inHand[partition]?.removeAll { $0.offset >= offset }
            if state.inHand[partition]?.isEmpty == true { state.inHand[partition] = nil }
            if state.position[partition] == nil { state.position[partition] = offset }
        }
    }

    func finished(_ messages: some Collection<KafkaConsumerMessage>) {
        var last: [KafkaTopicPartition: Int64] = [:]
        for run in messages.partitionRuns() {
            last[run.partition] = max(last[run.partition] ?? -1, run.messages.lazy.map(\.offset).max()!)
        }
        let count = messages.count
        state.withLock { state in
            state.handled += count
            for (partition, offset) in last {
                state.position[partition] = max(state.position[partition] ?? 0, offset + 1)
                state.inHand[partition]?.removeAll { $0.offset <= offset }
                if state.inHand[partition]?.isEmpty == true { state.inHand[partition] = nil }
            }
        }
    }

    /// The next offset after the last finished message, per partition: what "offsets moving" means.
    var positions: [KafkaTopicPartition: Int64] { state.withLock { $0.position } }
    var handled: Int { state.withLock { $0.handled } }

    func snapshot(now: Date) -> StageLag {
        let (positions, inHand) = state.withLock { ($0.position, $0.inHand) }
        var partitions: [KafkaTopicPartition: PartitionLag] = [:]
        for partition in Set(positions.keys).union(inHand.keys) {
            let oldest = inHand[partition]?.first
            let position = positions[partition] ?? oldest?.offset ?? 0
            let high = watermarks(partition)?.high ?? position
            let age = oldest?.timestamp.map { max(0, now.timeIntervalSince($0)) } ?? 0
            partitions[partition] = PartitionLag(messages: max(0, high - position),
                                                 oldestUnprocessedAge: .milliseconds(Int64((age * 1000).rounded())))
        }
        return StageLag(partitions: partitions)
    }
}
