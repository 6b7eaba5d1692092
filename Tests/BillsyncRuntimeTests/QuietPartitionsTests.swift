import BillsyncKafka
@testable import BillsyncRuntime
import Testing

/// When an input waiting for its creator (a bill's fields for an account not loaded yet) may stop
/// waiting: only once its partition is quiet.
@Suite("A waiting input's clock runs only once its partition is read to its end and no longer grows")
struct QuietPartitionsTests {
    let partition = KafkaTopicPartition(topic: "billsync.crm.upserts", partition: 2)

    func chunk(upTo last: Int64, from first: Int64 = 0) -> [KafkaConsumerMessage] {
        (first...last).map { KafkaConsumerMessage(topic: partition.topic, partition: partition.partition, offset: $0, key: nil, value: []) }
    }

    @Test("a partition the stage has not read to its end (a backlog behind the waiting input) is not quiet")
    func backlogIsNotQuiet() {
        var partitions = QuietPartitions()
        partitions.taken(chunk(upTo: 9_999))
        let behindBacklog = partitions.isQuiet(partition, high: 450_000)
        partitions.taken(chunk(upTo: 449_999, from: 10_000))
        let readToItsEnd = partitions.isQuiet(partition, high: 450_000)
        #expect(!behindBacklog && readToItsEnd)
    }

    @Test("a partition read to its end that still grows (the stage before still writing) is not quiet until it stops growing")
    func growingIsNotQuiet() {
        var partitions = QuietPartitions()
        partitions.taken(chunk(upTo: 99))
        let first = partitions.isQuiet(partition, high: 100)
        partitions.taken(chunk(upTo: 149, from: 100))
        let grown = partitions.isQuiet(partition, high: 150)
        let stillAfter = partitions.isQuiet(partition, high: 150)
        #expect(first)
        #expect(!grown, "read to its end, but it grew since it was last looked at")
        #expect(stillAfter)
    }

    @Test("a partition whose end is not known yet does not hold the input back")
    func unknownEndIsQuiet() {
        var partitions = QuietPartitions()
        let unknown = partitions.isQuiet(partition, high: nil)
        #expect(unknown)
    }
}
