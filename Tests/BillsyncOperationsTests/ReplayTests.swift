import BillsyncContracts
import BillsyncKafka
import BillsyncOperations
import BillsyncTestSupport
import BillsyncTopics
import Foundation
import Testing

/// Replays on the real broker: what the dry run predicts is what the run sends.
@Suite("A replay re-publishes exactly the selected range, once, marked; a group reset moves only a group nobody is in")
struct ReplayTests {
    let contracts = TestRepository.contracts

    /// A fleet's topics with `count` upserts on the upserts topic (keys c0…c9, so keys repeat),
    /// read back as they are stored.
    func fleet(count: Int = 40) async throws -> (TopicCatalog, [KafkaConsumerMessage]) {
        let catalog = TopicCatalog(partitions: 2, prefix: TestKafka.uniqueName("replay"))
        try await KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger).createTopics(catalog.specifications)
        let producer = try TestKafka.producer()
        for round in 0..<4 {
            // Four sends, each acknowledged before the next, so the timestamps rise between them.
            _ = try await producer.sendAll(try (0..<(count / 4)).map { index in
                let number = round * (count / 4) + index
                let upsert = CRMUpsert(object: index % 2 == 0 ? "Account" : "Contact", externalIdField: "Billing_Customer_Id__c",
                                       externalId: "c\(number % 10)", fields: ["Name": .string("Customer \(number)")])
                let envelope = MessageEnvelope(source: MessageSource(system: .billsync, name: "test"), businessKey: "c\(number % 10)", occurredAt: nil, payload: upsert)
                return KafkaProducerMessage(topic: catalog.upsertCommands, key: Array("c\(number % 10)".utf8), value: try contracts.encode(envelope))
            })
        }
        await producer.shutdown()
        return (catalog, try await TestKafka.readToEnd(catalog.upsertCommands, partitions: 2))
    }

    func upserts(_ message: KafkaConsumerMessage) -> [ReplayEffect.Upsert] {
        guard let upsert = try? contracts.decode(message.value ?? [], as: CRMUpsert.self).payload else { return [] }
        return [ReplayEffect.Upsert(object: upsert.object, externalId: upsert.externalId)]
    }

    func snapshot(_ selection: ReplaySelection) async throws -> KafkaTopicSnapshot.Snapshot {
        try await Replay.read(selection, partitions: 2, connection: TestKafka.connection, groupID: TestKafka.uniqueName("replay-reader"), logger: TestKafka.logger)
    }

    func identity(_ message: KafkaConsumerMessage) -> String { "\(message.keyString ?? "")|\(String(decoding: message.value ?? [], as: UTF8.self))" }

    @Test("a replay from a time sends exactly the messages from then on, as the dry run predicted, each marked with its replay id")
    func fromATime() async throws {
        let (catalog, stored) = try await fleet()
        let times = stored.compactMap(\.timestamp).sorted()
        let boundary = times[times.count / 2]
        let expected = stored.filter { $0.timestamp! >= boundary }
        let target = try await TestKafka.createTopics("replayed", partitions: 2)[0]
        let replay = Replay(catalog: catalog, contracts: contracts)
        let selection = ReplaySelection(topic: catalog.upsertCommands, from: .time(boundary))
        let plan = replay.plan(try await snapshot(selection).messages, selection: selection, into: target, upserts: upserts)

        #expect(plan.effect.messages == expected.count)
        #expect(plan.effect.distinctKeys == Set(expected.map(\.keyString)).count)
        #expect(plan.effect.first == expected.compactMap(\.timestamp).min() && plan.effect.last == expected.compactMap(\.timestamp).max())
        let perObject = Dictionary(grouping: expected.flatMap(upserts), by: \.object).mapValues(\.count)
        #expect(plan.effect.upsertsPerObject == perObject)
        // Ten keys: each object's upserts need as many calls as its most repeated external id.
        let waves = Dictionary(grouping: expected.flatMap(upserts), by: \.object).mapValues { upserts in
            Dictionary(grouping: upserts, by: \.externalId).values.map(\.count).max() ?? 0
        }
        #expect(plan.effect.estimatedAPICalls == waves.values.reduce(0, +))

        let producer = try TestKafka.producer()
        let activity = try await replay.run(plan, by: "ops", rate: 10_000, producer: producer)
        await producer.shutdown()
        let sent = try await TestKafka.readToEnd(target, partitions: 2)
        #expect(sent.map(identity).sorted() == expected.map(identity).sorted())
        #expect(Dictionary(grouping: sent, by: \.partition).mapValues(\.count) == plan.effect.partitions.mapValues(\.messages))
        #expect(sent.allSatisfy { $0.headers.last(named: StageHeaders.replayID) == activity.activityId.uuidString.lowercased() })
        #expect(activity.count == expected.count && activity.kind == .replay)
    }

    @Test("a key filter replays only that key's messages")
    func onlyOneKey() async throws {
        let (catalog, stored) = try await fleet()
        let selection = ReplaySelection(topic: catalog.upsertCommands, keys: ["c3"])
        let plan = Replay(catalog: catalog, contracts: contracts).plan(try await snapshot(selection).messages, selection: selection, upserts: upserts)
        #expect(plan.messages.map(identity).sorted() == stored.filter { $0.keyString == "c3" }.map(identity).sorted())
        #expect(plan.effect.distinctKeys == 1 && plan.messages.count == 4)
    }

    @Test("a replay stopped half-way and resumed with the same selection publishes each message once")
    func stoppedAndResumed() async throws {
        let (catalog, stored) = try await fleet()
        let target = try await TestKafka.createTopics("replayed", partitions: 2)[0]
        let replay = Replay(catalog: catalog, contracts: contracts)
        let selection = ReplaySelection(topic: catalog.upsertCommands, from: .offset(0))
        let plan = replay.plan(try await snapshot(selection).messages, selection: selection, into: target, upserts: upserts)
        let producer = try TestKafka.producer()
        let halfway = Task {
            try await replay.run(plan, by: "ops", rate: nil, producer: producer) { done, _ in
                if done == 15 { withUnsafeCurrentTask { $0?.cancel() } }
            }
        }
        let stopped: Republisher.Stopped
        do {
            _ = try await halfway.value
            Issue.record("the replay was not stopped")
            return
        } catch let error as Republisher.Stopped {
            stopped = error
        }
        #expect(stopped.interrupted && stopped.activity.count == 15)
        let recorded = try await Republisher.activities(connection: TestKafka.connection, catalog: catalog, contracts: contracts,
                                                        groupID: TestKafka.uniqueName("activities"), logger: TestKafka.logger)
        let resumed = try #require(recorded.last { $0.activityId == stopped.activity.activityId })
        let rest = replay.plan(try await snapshot(selection).messages, selection: selection, into: target, after: resumed.through ?? [:], upserts: upserts)
        #expect(rest.messages.count == stored.count - 15)
        let finished = try await replay.run(rest, by: "ops", rate: nil, producer: producer, resuming: resumed)
        await producer.shutdown()
        #expect(finished.count == stored.count && finished.activityId == stopped.activity.activityId)
        let sent = try await TestKafka.readToEnd(target, partitions: 2)
        #expect(sent.map(identity).sorted() == stored.map(identity).sorted())
    }

    @Test("a group reset refuses while the group has a member, naming it; with none it moves the group back and the offsets read back match")
    func groupReset() async throws {
        let (catalog, stored) = try await fleet()
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        let group = catalog.group(of: .loader)
        let partitions = (0..<Int32(2)).map { KafkaTopicPartition(topic: catalog.upsertCommands, partition: $0) }
        // The loader's group has read everything.
        var ends: [KafkaTopicPartition: Int64] = [:]
        for partition in partitions { ends[partition] = (stored.filter { $0.partition == partition.partition }.map(\.offset).max() ?? -1) + 1 }
        try await admin.alterConsumerGroupOffsets(group, to: ends)

        let selection = ReplaySelection(topic: catalog.upsertCommands, from: .offset(5))
        let plan = GroupReset.plan(stage: .loader, group: group, selection: selection, snapshot: try await snapshot(ReplaySelection(topic: catalog.upsertCommands)),
                                   committed: try await admin.consumerGroupOffsets(group, partitions: partitions), upserts: upserts)
        #expect(plan.effect.messages == stored.filter { $0.offset >= 5 }.count)
        #expect(plan.moves.mapValues(\.to) == [0: 5, 1: 5])

        var configuration = TestKafka.consumerConfiguration(group: group, topics: [catalog.upsertCommands])
        configuration.connection.clientID = "loader-still-running"
        configuration.commitsOffsets = false
        let member = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await member.run() }
            #expect(await eventually(timeout: .seconds(60)) { !member.assignment.isEmpty })
            await #expect {
                try await GroupReset.apply(plan, admin: admin)
            } throws: { error in
                "\(error)".contains("active member") && "\(error)".contains("loader-still-running")
            }
            member.triggerShutdown()
            try await tasks.waitForAll()
        }
        #expect(try await admin.consumerGroupOffsets(group, partitions: partitions) == ends)
        try await GroupReset.apply(plan, admin: admin)
        #expect(try await admin.consumerGroupOffsets(group, partitions: partitions) == plan.offsets)
    }
}
