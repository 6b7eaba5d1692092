import BillsyncKafka
import BillsyncTestSupport
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@Suite("A service group's graceful shutdown drains the consumer and flushes the producer")
struct GracefulShutdownTests {
    @Test("on graceful shutdown the in-flight message is finished and committed, and the group is left")
    func gracefulShutdownFinishesInFlightWork() async throws {
        let topic = try await TestKafka.createTopics("graceful", partitions: 1)[0]
        let output = try await TestKafka.createTopics("graceful-out", partitions: 1)[0]
        let group = TestKafka.uniqueName("graceful")
        try await TestKafka.seed(topic, count: 30, key: { _ in "k" })

        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: group, topics: [topic]), logger: TestKafka.logger)
        let producer = try TestKafka.producer()
        let handled = Counter()
        try await testGracefulShutdown { trigger in
            let pipe = PassThroughService(consumer: consumer, producer: producer, outputTopic: output, handled: handled) {
                // Ask for shutdown while the 10th message is being handled.
                if handled.value == 9 { trigger.triggerGracefulShutdown() }
            }
            // Shut down in reverse: the stage drains and commits first, then the producer flushes.
            let services = ServiceGroup(configuration: .init(services: [
                .init(service: producer), .init(service: pipe),
            ], logger: TestKafka.logger))
            try await services.run()
        }
        // Whatever was handled was produced onward and committed; nothing after it was.
        let probe = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: group, topics: []), logger: TestKafka.logger)
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        let committed = try await probe.committedOffsets(for: [partition])[partition]
        #expect(handled.value >= 10)
        #expect(committed == Int64(handled.value))
        #expect(consumer.assignment.isEmpty)
        #expect(producer.counters.delivered == handled.value)
    }
}

/// The smallest stage: reads, copies each message to another topic, marks it done once the
/// copy is acknowledged. It owns its consumer, whose run (in a child task) sees the same
/// graceful shutdown and ends `messages`.
struct PassThroughService: Service {
    let consumer: KafkaConsumer
    let producer: KafkaProducer
    let outputTopic: String
    let handled: Counter
    let onMessage: @Sendable () -> Void

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            for try await message in consumer.messages {
                onMessage()
                try await producer.send(KafkaProducerMessage(topic: outputTopic, key: message.key, value: message.value))
                handled.increment()
                consumer.markDone(message)
            }
            try await group.waitForAll()
        }
    }
}
