import BillsyncKafka
import BillsyncTestSupport
import Testing

@Suite("Messages survive a round trip through a real broker")
struct RoundTripTests {
    @Test("keys, headers, tombstones, null keys and empty values come back exactly as sent")
    func everyShapeOfMessageComesBack() async throws {
        let topic = try await TestKafka.createTopics("roundtrip", partitions: 1)[0]
        let producer = try TestKafka.producer()
        let sent = [
            KafkaProducerMessage(topic: topic, key: "acct-0042", value: #"{"amount":"12.50"}"#,
                                 headers: [KafkaHeader(name: "billsync.correlation-id", string: "c-1"),
                                           KafkaHeader(name: "no-value", value: nil)]),
            KafkaProducerMessage(topic: topic, key: "acct-0042", value: nil),
            KafkaProducerMessage(topic: topic, key: nil, value: "keyless"),
            KafkaProducerMessage(topic: topic, key: "empty", value: ""),
        ]
        let reports = try await producer.sendAll(sent)
        #expect(reports.map(\.offset) == [0, 1, 2, 3])
        await producer.shutdown()

        var configuration = TestKafka.consumerConfiguration(group: TestKafka.uniqueName("g"), topics: [])
        configuration.subscription = .partitions([KafkaTopicPartition(topic: topic, partition: 0): KafkaOffset.beginning])
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            let received = try await collect(4, from: consumer.messages) { consumer.markDone($0) }
            consumer.triggerShutdown()
            try await group.waitForAll()

            try #require(received.count == 4)
            #expect(received[0].keyString == "acct-0042")
            #expect(received[0].valueString == #"{"amount":"12.50"}"#)
            #expect(received[0].headers == sent[0].headers)
            #expect(received[1].isTombstone)
            #expect(received[1].keyString == "acct-0042")
            #expect(received[2].key == nil)
            #expect(received[2].valueString == "keyless")
            #expect(received[3].value == [])
            #expect(received.allSatisfy { $0.timestamp != nil })
        }
    }

    @Test("a detached send still reports its delivery, and counters balance after a flush")
    func detachedSendsAreCounted() async throws {
        let topic = try await TestKafka.createTopics("detached", partitions: 3)[0]
        let producer = try TestKafka.producer()
        let delivered = Counter()
        for index in 0..<500 {
            try await producer.sendDetached(KafkaProducerMessage(topic: topic, key: "k\(index % 7)", value: "v\(index)")) { report in
                if report.isDelivered { delivered.increment() }
            }
        }
        try await producer.flush()
        #expect(producer.counters == KafkaProducerCounters(enqueued: 500, delivered: 500, failed: 0))
        #expect(delivered.value == 500)
        await producer.shutdown()
    }

    @Test("one key always lands in one partition, so its messages stay in order")
    func oneKeyStaysInOnePartition() async throws {
        let topic = try await TestKafka.createTopics("keyed", partitions: 4)[0]
        let producer = try TestKafka.producer()
        let reports = try await producer.sendAll((0..<20).map {
            KafkaProducerMessage(topic: topic, key: "account-7", value: "update \($0)")
        })
        #expect(Set(reports.map(\.partition)).count == 1)
        #expect(reports.map(\.offset) == reports.map(\.offset).sorted())
        await producer.shutdown()
    }
}
