import BillsyncKafka
import BillsyncTestSupport
import Testing

@Suite("Consumers in one group share the work")
struct ConsumerGroupTests {
    @Test("two members split the partitions, and when one leaves the other takes over without losing a message")
    func membersSplitAndTakeOver() async throws {
        let topic = try await TestKafka.createTopics("group", partitions: 4)[0]
        let group = TestKafka.uniqueName("group")
        let producer = try TestKafka.producer()
        let first = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: group, topics: [topic]), logger: TestKafka.logger)
        let second = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: group, topics: [topic]), logger: TestKafka.logger)
        let seen = SeenValues()

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await first.run() }
            tasks.addTask { try await second.run() }
            for consumer in [first, second] {
                tasks.addTask {
                    for try await message in consumer.messages {
                        seen.insert(message.valueString ?? "")
                        consumer.markDone(message)
                    }
                }
            }
            let split = await eventually(timeout: .seconds(60)) {
                first.assignment.count == 2 && second.assignment.count == 2
            }
            #expect(split, "partitions were \(first.assignment) and \(second.assignment)")
            #expect(first.assignment.isDisjoint(with: second.assignment))

            _ = try await producer.sendAll((0..<200).map { KafkaProducerMessage(topic: topic, key: "k\($0)", value: "before-\($0)") })
            #expect(await eventually { seen.count == 200 })

            // The first member leaves: it commits what it did and its partitions move.
            first.triggerShutdown()
            #expect(await eventually(timeout: .seconds(60)) { second.assignment.count == 4 })
            _ = try await producer.sendAll((0..<200).map { KafkaProducerMessage(topic: topic, key: "k\($0)", value: "after-\($0)") })
            #expect(await eventually { seen.count == 400 }, "saw \(seen.count) of 400")

            second.triggerShutdown()
            try await tasks.waitForAll()
        }
        await producer.shutdown()
        #expect(seen.values == Set((0..<200).map { "before-\($0)" } + (0..<200).map { "after-\($0)" }))
    }
}
