import Foundation
import BillsyncKafka
import BillsyncTestSupport
import Testing

@Suite("Offsets are committed only for messages marked done")
struct AtLeastOnceTests {
    @Test("a message not marked done is delivered again to the next consumer of the group")
    func unfinishedMessageIsRedelivered() async throws {
        let topic = try await TestKafka.createTopics("alo", partitions: 1)[0]
        let group = TestKafka.uniqueName("alo")
        try await TestKafka.seed(topic, count: 10, key: { _ in "k" })

        // Marks 0...4 and 6 done, but not 5: only 5 may be committed, whatever came after.
        let first = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: group, topics: [topic]), logger: TestKafka.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await first.run() }
            let received = try await collect(10, from: first.messages)
            try #require(received.count == 10)
            for message in received where message.offset != 5 && message.offset <= 6 { first.markDone(message) }
            first.triggerShutdown()
            try await tasks.waitForAll()
        }
        let partition = KafkaTopicPartition(topic: topic, partition: 0)

        let second = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: group, topics: [topic]), logger: TestKafka.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await second.run() }
            let committed = try await second.committedOffsets(for: [partition])
            #expect(committed[partition] == 5)
            let redelivered = try await collect(5, from: second.messages) { second.markDone($0) }
            #expect(redelivered.map(\.offset) == [5, 6, 7, 8, 9])
            second.triggerShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("shutting down commits what is done and leaves the group, so a newcomer starts right after it")
    func shutdownCommitsAndLeaves() async throws {
        let topic = try await TestKafka.createTopics("shutdown", partitions: 2)[0]
        let group = TestKafka.uniqueName("shutdown")
        try await TestKafka.seed(topic, count: 40)

        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: group, topics: [topic]), logger: TestKafka.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await consumer.run() }
            _ = try await collect(40, from: consumer.messages) { consumer.markDone($0) }
            consumer.triggerShutdown()
            try await tasks.waitForAll()
        }
        #expect(consumer.assignment.isEmpty, "a closed consumer owns no partitions")

        let admin = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: group, topics: []), logger: TestKafka.logger)
        let partitions = (0..<2).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) }
        let committed = try await admin.committedOffsets(for: partitions)
        let total = committed.values.reduce(0, +)
        #expect(total == 40, "committed offsets \(committed) should cover all 40 messages")
    }

    @Test("held-back messages are read again from the first of them, and what came before them is still committed")
    func heldBackMessagesAreReadAgain() async throws {
        let topic = try await TestKafka.createTopics("holdback", partitions: 1)[0]
        let group = TestKafka.uniqueName("holdback")
        try await TestKafka.seed(topic, count: 10, key: { _ in "k" })
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: group, topics: [topic]), logger: TestKafka.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await consumer.run() }
            var iterator = consumer.messages.makeAsyncIterator()
            var received: [KafkaConsumerMessage] = []
            while received.count < 10 { received += try await iterator.next(upTo: 10 - received.count) }
            #expect(try await consumer.holdBack(Array(received[5...])))
            consumer.markDone(received[..<5])
            #expect(consumer.outstandingMessages == 0)
            try await consumer.commit()
            #expect(try await consumer.committedOffsets(for: [partition])[partition] == 5)
            try await consumer.resume([partition])
            var again: [KafkaConsumerMessage] = []
            while again.count < 5 { again += try await iterator.next(upTo: 5 - again.count) }
            #expect(again.map(\.offset) == [5, 6, 7, 8, 9])
            consumer.markDone(again)
            consumer.triggerShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("holding back messages of a consumer that is shutting down is not an error; they are read again after it")
    func holdBackDuringShutdown() async throws {
        let topic = try await TestKafka.createTopics("holdback-stop", partitions: 1)[0]
        let group = TestKafka.uniqueName("holdback-stop")
        try await TestKafka.seed(topic, count: 3, key: { _ in "k" })
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: group, topics: [topic]), logger: TestKafka.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await consumer.run() }
            let received = try await collect(3, from: consumer.messages)
            try #require(received.count == 3)
            consumer.markDone(received[0])
            consumer.triggerShutdown()
            #expect(try await consumer.holdBack(Array(received[1...])) == false)
            try await tasks.waitForAll()
        }
        let next = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: group, topics: [topic]), logger: TestKafka.logger)
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        #expect(try await next.committedOffsets(for: [partition])[partition] == 1)
    }

    @Test("offsets for a timestamp point at the first message produced after it")
    func offsetsForTimestamp() async throws {
        let topic = try await TestKafka.createTopics("times", partitions: 1)[0]
        let producer = try TestKafka.producer()
        _ = try await producer.sendAll((0..<5).map { KafkaProducerMessage(topic: topic, key: "k", value: "early-\($0)") })
        // Timestamps have millisecond resolution; the gap keeps "before" and "after" apart whether
        // the broker indexes the producer's timestamp (Kafka) or its own receive time (Tansu).
        await timestampsMovePast(Date())
        let boundary = Date()
        await timestampsMovePast(boundary)
        _ = try await producer.sendAll((0..<5).map { KafkaProducerMessage(topic: topic, key: "k", value: "late-\($0)") })
        await producer.shutdown()

        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: TestKafka.uniqueName("t"), topics: []), logger: TestKafka.logger)
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        let offsets = try await consumer.offsets(forTimestamp: boundary, in: [partition])
        #expect(offsets[partition] == 5)
    }
}

/// Returns once the wall clock has moved a few milliseconds past `instant`, so messages produced
/// after it carry later timestamps (millisecond resolution) than those before.
private func timestampsMovePast(_ instant: Date) async {
    while Date().timeIntervalSince(instant) < 0.005 { await Task.yield() }
}
