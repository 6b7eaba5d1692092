@testable import BillsyncKafka
import BillsyncTestSupport
import Testing

@Suite("The consumer's buffer hands out every fetched message once, and none of a lost partition")
struct MessageBufferTests {
    let bills = KafkaTopicPartition(topic: "bills", partition: 0)
    let reads = KafkaTopicPartition(topic: "reads", partition: 0)

    func batch(_ partition: KafkaTopicPartition, _ offsets: Range<Int64>) -> [KafkaConsumerMessage] {
        offsets.map { KafkaConsumerMessage(topic: partition.topic, partition: partition.partition, offset: $0, key: nil, value: [1]) }
    }

    func take(_ count: Int, from buffer: MessageBuffer) async throws -> [Int64] {
        var iterator = KafkaConsumerMessages(buffer: buffer).makeAsyncIterator()
        var offsets: [Int64] = []
        while offsets.count < count, let message = try await iterator.next() { offsets.append(message.offset) }
        return offsets
    }

    @Test("a reader that leaves its loop and starts again continues with the next message")
    func resumesAfterBreak() async throws {
        let buffer = MessageBuffer(capacity: 100)
        buffer.push(batch(bills, 0..<10))
        #expect(try await take(3, from: buffer) == [0, 1, 2])
        #expect(try await take(7, from: buffer) == [3, 4, 5, 6, 7, 8, 9])
        #expect(buffer.count == 0)
        #expect(buffer.outstandingCount == 10)
    }

    @Test("messages of a revoked partition are not handed out, even from the reader's current batch")
    func revokedPartitionIsDropped() async throws {
        let buffer = MessageBuffer(capacity: 100)
        buffer.push(batch(bills, 0..<3) + batch(reads, 0..<3))
        buffer.push(batch(bills, 3..<5))
        #expect(try await take(1, from: buffer) == [0])
        buffer.removeAll(in: [bills])
        buffer.push(batch(reads, 3..<4))
        var iterator = KafkaConsumerMessages(buffer: buffer).makeAsyncIterator()
        var seen: [String] = []
        for _ in 0..<4 {
            let message = try #require(try await iterator.next())
            seen.append("\(message.topic)@\(message.offset)")
        }
        #expect(seen == ["reads@0", "reads@1", "reads@2", "reads@3"])
    }

    @Test("finishing ends the reader's sequence although its batch still holds messages")
    func finishEndsSequence() async throws {
        let buffer = MessageBuffer(capacity: 100)
        buffer.push(batch(bills, 0..<5))
        #expect(try await take(2, from: buffer) == [0, 1])
        buffer.finish()
        var iterator = KafkaConsumerMessages(buffer: buffer).makeAsyncIterator()
        #expect(try await iterator.next() == nil)
        #expect(buffer.count == 0)
    }

    @Test("a waiting reader is woken by the next batch")
    func waitingReaderIsWoken() async throws {
        let buffer = MessageBuffer(capacity: 100)
        let executor = SuspensionWatchingExecutor()
        let first = Task(executorPreference: executor) { try await take(2, from: buffer) }
        // Pushed only once the reader found nothing and suspended to wait: a batch pushed before
        // would be taken from the buffer, and the wake-up would go untested.
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(1)) { executor.isIdle })
        buffer.push(batch(bills, 7..<9))
        #expect(try await first.value == [7, 8])
    }

    @Test("a full buffer makes the fetcher wait until the reader took half of it")
    func backPressure() async throws {
        let buffer = MessageBuffer(capacity: 4)
        buffer.push(batch(bills, 0..<2))
        buffer.push(batch(bills, 2..<4))
        #expect(buffer.waitForRoom(timeout: .milliseconds(10)) == 0)
        #expect(try await take(2, from: buffer) == [0, 1])
        #expect(buffer.waitForRoom(timeout: .milliseconds(10)) == 2)
    }

    @Test("a batch read hands out what was fetched together, up to its limit, and nothing of a revoked partition")
    func batchReads() async throws {
        let buffer = MessageBuffer(capacity: 100)
        buffer.push(batch(bills, 0..<5) + batch(reads, 0..<3))
        var iterator = KafkaConsumerMessages(buffer: buffer).makeAsyncIterator()
        #expect(try await iterator.next(upTo: 3).map(\.offset) == [0, 1, 2])
        buffer.removeAll(in: [bills])
        #expect(try await iterator.next(upTo: 10).map(\.topic) == ["reads", "reads", "reads"])
        #expect(buffer.outstandingCount == 6)
        buffer.finish()
        #expect(try await iterator.next(upTo: 10).isEmpty)
    }
}
