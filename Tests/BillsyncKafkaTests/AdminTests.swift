import BillsyncKafka
import BillsyncTestSupport
import Testing

@Suite("The admin client reads and changes what the operator tool needs")
struct AdminTests {
    @Test("a topic's configuration names its retention and cleanup policy, and a change to one of them sticks")
    func topicConfigsAreReadAndChanged() async throws {
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        let name = TestKafka.uniqueName("configs")
        try await admin.createTopics([KafkaTopicSpecification(name: name, partitions: 2, configs: ["retention.ms": "86400000"])])
        let before = try #require(try await admin.describeConfigs(ofTopics: [name]).first)
        #expect(before["retention.ms"] == "86400000")

        try await admin.setConfigs([name: ["retention.ms": "172800000"]])
        let after = try #require(try await admin.describeConfigs(ofTopics: [name]).first)
        #expect(after["retention.ms"] == "172800000")
    }

    @Test("a group's description names its members and what each reads, and is empty once they left")
    func groupMembersAreNamed() async throws {
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        let topic = try await TestKafka.createTopics("members", partitions: 2)[0]
        let group = TestKafka.uniqueName("members")
        var configuration = TestKafka.consumerConfiguration(group: group, topics: [topic])
        configuration.connection.clientID = "member-under-test"
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await consumer.run() }
            #expect(await eventually(timeout: .seconds(60)) { consumer.assignment.count == 2 })
            let described = try #require(try await admin.describeConsumerGroups([group]).first)
            let member = try #require(described.members.first)
            // One consumer; Tansu may still list the member ids it had before a rejoin.
            #expect(!described.members.isEmpty && described.members.allSatisfy { $0.memberID.hasPrefix("member-under-test-") })
            // Kafka names a member `<client.id>-<uuid>`.
            #expect(member.memberID.hasPrefix("member-under-test-"))
            #expect(member.name.hasPrefix("member-under-test"))
            // Tansu 0.6 leaves client id, host and assignment empty in DescribeGroups; Kafka fills them.
            if !member.clientID.isEmpty {
                #expect(member.clientID == "member-under-test")
                #expect(Set(member.assignment) == consumer.assignment)
            }
            consumer.triggerShutdown()
            try await tasks.waitForAll()
        }
        // A member that rejoined under load leaves earlier member ids behind on Tansu until their
        // session times out: the group is empty once the broker has let them all go.
        var left: KafkaConsumerGroupDescription?
        let emptied = await eventually(timeout: .seconds(90), every: .milliseconds(500)) {
            left = try? await admin.describeConsumerGroups([group]).first
            return left?.isInactive == true
        }
        #expect(emptied, "still members: \(left?.members ?? [])")
    }

    @Test("a group's offsets are set for a group with no members, read back, and the group resumes from them")
    func groupOffsetsAreSet() async throws {
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        let topic = try await TestKafka.createTopics("offsets", partitions: 1)[0]
        try await TestKafka.seed(topic, count: 10)
        let group = TestKafka.uniqueName("offsets")
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        try await admin.alterConsumerGroupOffsets(group, to: [partition: 7])

        #expect(try await admin.consumerGroupOffsets(group, partitions: [partition]) == [partition: 7])

        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: group, topics: [topic]), logger: TestKafka.logger)
        let first = try await withThrowingTaskGroup(of: Int64?.self) { tasks in
            tasks.addTask { try await consumer.run(); return nil }
            tasks.addTask {
                defer { consumer.triggerShutdown() }
                for try await message in consumer.messages { return message.offset }
                return nil
            }
            var first: Int64?
            for try await offset in tasks { first = first ?? offset }
            return first
        }
        #expect(first == 7)
    }
}
