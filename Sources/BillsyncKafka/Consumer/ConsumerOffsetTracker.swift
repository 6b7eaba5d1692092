/// Decides which offset may be committed for each partition, given the messages handed out and
/// the ones marked done, possibly out of order.
///
/// Kafka commits one position per partition: everything before it counts as processed. If
/// message 7 is done while 6 is still being worked on, committing 8 would lose 6 on a crash.
/// So the committable position only moves over a contiguous run of done messages.
struct ConsumerOffsetTracker {
    private struct PartitionState {
        /// Offsets delivered and not yet committable, in delivery (ascending) order.
        var delivered: [Int64] = []
        var head = 0
        var done: Set<Int64> = []

        var pendingCount: Int { delivered.count - head }
    }

    private var partitions: [KafkaTopicPartition: PartitionState] = [:]
    /// Positions that moved since the last `takeCommittable()`.
    private var committable: [KafkaTopicPartition: Int64] = [:]

    /// Messages delivered but not yet committable (handed out, or waiting in the buffer).
    private(set) var pendingCount = 0

    mutating func delivered(_ partition: KafkaTopicPartition, offset: Int64) {
        partitions[partition, default: PartitionState()].delivered.append(offset)
        pendingCount += 1
    }

    /// Records that a message was processed. Returns false when the message is unknown (its
    /// partition was revoked or re-positioned meanwhile): its position is no longer ours to commit.
    @discardableResult
    mutating func markDone(_ partition: KafkaTopicPartition, offset: Int64) -> Bool {
        guard var state = partitions[partition], state.pendingCount > 0 else { return false }
        guard offset >= state.delivered[state.head], offset <= state.delivered[state.delivered.count - 1] else {
            return false
        }
        state.done.insert(offset)
        var advancedTo: Int64?
        while state.head < state.delivered.count, state.done.remove(state.delivered[state.head]) != nil {
            advancedTo = state.delivered[state.head] + 1
            state.head += 1
            pendingCount -= 1
        }
        if state.head > 1024, state.head * 2 > state.delivered.count {
            state.delivered.removeFirst(state.head)
            state.head = 0
        }
        partitions[partition] = state
        if let advancedTo { committable[partition] = advancedTo }
        return true
    }

    /// The positions to store for commit since the last call (the next offset to read).
    mutating func takeCommittable() -> [KafkaTopicPartition: Int64] {
        defer { committable = [:] }
        return committable
    }

    /// Drops all knowledge of these partitions (revoked, lost, or sought elsewhere).
    mutating func forget<Partitions: Sequence>(_ forgotten: Partitions) where Partitions.Element == KafkaTopicPartition {
        for partition in forgotten {
            if let state = partitions.removeValue(forKey: partition) {
                pendingCount -= state.pendingCount
            }
            committable[partition] = nil
        }
    }
}
