/// Decides which offset may be committed for each partition, given the messages handed out and
/// the ones marked done, possibly out of order.
///
/// Kafka commits one position per partition: everything before it counts as processed. If
/// message 7 is done while 6 is still being worked on, committing 8 would lose 6 on a crash.
/// So the committable position only moves over a contiguous run of done messages.
///
/// This runs twice per message (delivered, done), so the common case, messages finished in
/// the order they came, touches no set and hashes no topic name.
struct ConsumerOffsetTracker {
    /// A reference type, so updating a partition's state never copies its arrays.
    private final class PartitionState {
        /// Offsets delivered and not yet committable, in delivery (ascending) order.
        var delivered: [Int64] = []
        var head = 0
        /// Offsets marked done ahead of the first undone one.
        var doneAhead: Set<Int64> = []
        /// The next offset to read, once it moved and until it is taken for commit.
        var committable: Int64?

        var pendingCount: Int { delivered.count - head }
    }

    private var partitions: [KafkaTopicPartition: PartitionState] = [:]
    /// The partition used last: consecutive messages almost always share it.
    private var recent: (partition: KafkaTopicPartition, state: PartitionState)?

    /// Messages delivered but not yet committable (handed out, or waiting in the buffer).
    private(set) var pendingCount = 0

    private mutating func state(of partition: KafkaTopicPartition, creating: Bool) -> PartitionState? {
        if let recent, recent.partition == partition { return recent.state }
        let state: PartitionState
        if let existing = partitions[partition] {
            state = existing
        } else {
            guard creating else { return nil }
            state = PartitionState()
            partitions[partition] = state
        }
        recent = (partition, state)
        return state
    }

    mutating func delivered(_ partition: KafkaTopicPartition, offset: Int64) {
        delivered(partition, offsets: CollectionOfOne(offset))
    }

    /// Messages of one partition handed to the buffer, in offset order.
    mutating func delivered<Offsets: Collection>(_ partition: KafkaTopicPartition, offsets: Offsets) where Offsets.Element == Int64 {
        state(of: partition, creating: true)!.delivered.append(contentsOf: offsets)
        pendingCount += offsets.count
    }

    /// Records that a message was processed. Returns false when the message is unknown (its
    /// partition was revoked or re-positioned meanwhile): its position is no longer ours to commit.
    @discardableResult
    mutating func markDone(_ partition: KafkaTopicPartition, offset: Int64) -> Bool {
        markDone(topic: partition.topic, partition: partition.partition, offset: offset)
    }

    /// The same, without building a `KafkaTopicPartition` when the partition is the recent one.
    @discardableResult
    mutating func markDone(topic: String, partition: Int32, offset: Int64) -> Bool {
        let state: PartitionState
        if let recent, recent.partition.partition == partition, recent.partition.topic == topic {
            state = recent.state
        } else if let found = self.state(of: KafkaTopicPartition(topic: topic, partition: partition), creating: false) {
            state = found
        } else {
            return false
        }
        guard state.pendingCount > 0 else { return false }
        let first = state.delivered[state.head]
        if offset == first {
            state.head += 1
            pendingCount -= 1
            // Finishing the first undone message may make the ones done ahead of it committable.
            while !state.doneAhead.isEmpty, state.head < state.delivered.count,
                  state.doneAhead.remove(state.delivered[state.head]) != nil {
                state.head += 1
                pendingCount -= 1
            }
            state.committable = state.delivered[state.head - 1] + 1
            if state.head > 1024, state.head * 2 > state.delivered.count {
                state.delivered.removeFirst(state.head)
                state.head = 0
            }
            return true
        }
        guard offset > first, offset <= state.delivered[state.delivered.count - 1] else { return false }
        state.doneAhead.insert(offset)
        return true
    }

    /// The positions to store for commit since the last call (the next offset to read).
    mutating func takeCommittable() -> [KafkaTopicPartition: Int64] {
        var result: [KafkaTopicPartition: Int64] = [:]
        for (partition, state) in partitions {
            guard let position = state.committable else { continue }
            result[partition] = position
            state.committable = nil
        }
        return result
    }

    /// Whether `offset` was delivered in this assignment of the partition and is not done yet.
    func isPending(_ partition: KafkaTopicPartition, offset: Int64) -> Bool {
        guard let state = partitions[partition], state.pendingCount > 0 else { return false }
        let pending = state.delivered[state.head...]
        guard let first = pending.first, let last = pending.last, first <= offset, offset <= last else { return false }
        // Ascending: a binary search.
        var low = pending.startIndex, high = pending.endIndex
        while low < high {
            let middle = (low + high) / 2
            if pending[middle] < offset { low = middle + 1 } else { high = middle }
        }
        return low < pending.endIndex && pending[low] == offset && !state.doneAhead.contains(offset)
    }

    /// Forgets what was delivered of a partition from `offset` on, because it will be delivered
    /// again (the partition was re-positioned there). What came before stays tracked, so done
    /// marks still arriving for it keep moving the committable position up to `offset`.
    mutating func rewind(_ partition: KafkaTopicPartition, to offset: Int64) {
        guard let state = state(of: partition, creating: false) else { return }
        var end = state.delivered.count
        while end > state.head, state.delivered[end - 1] >= offset { end -= 1 }
        let dropped = state.delivered.count - end
        guard dropped > 0 else { return }
        state.delivered.removeSubrange(end...)
        state.doneAhead = state.doneAhead.filter { $0 < offset }
        pendingCount -= dropped
    }

    /// Drops all knowledge of these partitions (revoked or lost).
    mutating func forget<Partitions: Sequence>(_ forgotten: Partitions) where Partitions.Element == KafkaTopicPartition {
        for partition in forgotten {
            if let state = partitions.removeValue(forKey: partition) {
                pendingCount -= state.pendingCount
            }
            if recent?.partition == partition { recent = nil }
        }
    }
}
