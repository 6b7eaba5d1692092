@testable import BillsyncKafka
import Testing

@Suite("Only a contiguous run of done messages becomes committable")
struct ConsumerOffsetTrackerTests {
    let partition = KafkaTopicPartition(topic: "bills", partition: 0)

    @Test("marking messages done in order moves the position past the last one")
    func inOrder() {
        var tracker = ConsumerOffsetTracker()
        for offset in Int64(10)..<15 { tracker.delivered(partition, offset: offset) }
        for offset in Int64(10)..<15 { tracker.markDone(partition, offset: offset) }
        #expect(tracker.takeCommittable() == [partition: 15])
        #expect(tracker.pendingCount == 0)
    }

    @Test("a gap holds the position back until it is filled")
    func outOfOrder() {
        var tracker = ConsumerOffsetTracker()
        for offset in Int64(0)..<5 { tracker.delivered(partition, offset: offset) }
        tracker.markDone(partition, offset: 0)
        tracker.markDone(partition, offset: 2)
        tracker.markDone(partition, offset: 3)
        #expect(tracker.takeCommittable() == [partition: 1])
        #expect(tracker.pendingCount == 4)
        tracker.markDone(partition, offset: 1)
        #expect(tracker.takeCommittable() == [partition: 4])
        #expect(tracker.takeCommittable().isEmpty, "a position is handed out once")
    }

    @Test("rewinding keeps what came before: its done marks still move the position up to the rewound offset, never past it")
    func rewindKeepsEarlierMessages() {
        var tracker = ConsumerOffsetTracker()
        for offset in Int64(0)..<10 { tracker.delivered(partition, offset: offset) }
        tracker.markDone(partition, offset: 7)
        tracker.rewind(partition, to: 5)
        #expect(tracker.pendingCount == 5)
        #expect(tracker.isPending(partition, offset: 4) && !tracker.isPending(partition, offset: 5))
        for offset in Int64(0)..<5 { tracker.markDone(partition, offset: offset) }
        #expect(tracker.takeCommittable() == [partition: 5])
        // Delivered again from the rewound offset on: tracked as new.
        for offset in Int64(5)..<8 { tracker.delivered(partition, offset: offset) }
        #expect(tracker.isPending(partition, offset: 7))
        tracker.markDone(partition, offset: 5)
        #expect(tracker.takeCommittable() == [partition: 6])
    }

    @Test("a message of a forgotten partition is ignored when marked done")
    func forgottenPartition() {
        var tracker = ConsumerOffsetTracker()
        tracker.delivered(partition, offset: 7)
        tracker.forget([partition])
        #expect(tracker.markDone(partition, offset: 7) == false)
        #expect(tracker.takeCommittable().isEmpty)
        #expect(tracker.pendingCount == 0)
    }

    @Test("offsets that skip numbers (compaction, transactions) still advance the position")
    func sparseOffsets() {
        var tracker = ConsumerOffsetTracker()
        for offset: Int64 in [3, 9, 40] { tracker.delivered(partition, offset: offset) }
        for offset: Int64 in [40, 9, 3] { tracker.markDone(partition, offset: offset) }
        #expect(tracker.takeCommittable() == [partition: 41])
    }
}
