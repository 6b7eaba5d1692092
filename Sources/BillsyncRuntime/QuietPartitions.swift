import BillsyncKafka

/// Whether an input waiting for another (`StageFailure.waiting`) may go on waiting without its
/// clock running. The one it waits for has the same key, so it comes through the same partition:
/// while the stage has not read that partition to its end (a backlog), or the partition still
/// grows (the stage before is still writing), it may be on its way. Only a quiet partition (read
/// to its end, and no higher than when last looked at) lets `maximumWait` run.
struct QuietPartitions {
    /// The offset after the last message taken, per partition.
    private var readUpTo: [KafkaTopicPartition: Int64] = [:]
    /// Each partition's high watermark when last looked at.
    private var highSeen: [KafkaTopicPartition: Int64] = [:]

    /// Notes the messages of a chunk as read.
    mutating func taken(_ chunk: some BidirectionalCollection<KafkaConsumerMessage>) {
        for run in chunk.partitionRuns() { readUpTo[run.partition] = run.messages.last!.offset + 1 }
    }

    /// Whether the partition, whose high watermark is `high` (nil: not known), is quiet; each
    /// look remembers the watermark for the next.
    mutating func isQuiet(_ partition: KafkaTopicPartition, high: Int64?) -> Bool {
        guard let high else { return true }
        let grew = highSeen[partition].map { high > $0 } ?? false
        highSeen[partition] = high
        return !grew && high <= readUpTo[partition, default: high]
    }
}
