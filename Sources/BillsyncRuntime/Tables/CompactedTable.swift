import BillsyncKafka
import Logging
import ServiceLifecycle

/// Compacted topics a worker keeps a copy of: read to their ends before the worker takes its
/// first message (so it starts knowing what the previous process knew), then, when `follows`,
/// kept current by one reader outside any group for as long as the worker runs.
///
/// `take` receives the records in offset order per partition (the whole snapshot at once when
/// catching up); it must be idempotent (a restart reads everything again) and keep blocking
/// work (SQLite) off the cooperative pool.
public struct CompactedTable: Sendable {
    public let topics: [String]
    /// False for a table only this stage writes (its own state): following it would apply its
    /// own older writes over newer state.
    public let follows: Bool
    let take: @Sendable ([KafkaConsumerMessage]) async throws -> Void

    public init(topics: [String], follows: Bool, take: @escaping @Sendable ([KafkaConsumerMessage]) async throws -> Void) {
        self.topics = topics
        self.follows = follows
        self.take = take
    }

    public init(topic: String, follows: Bool, take: @escaping @Sendable ([KafkaConsumerMessage]) async throws -> Void) {
        self.init(topics: [topic], follows: follows, take: take)
    }

    /// Why a stage cannot start: a table's topic is missing.
    public struct MissingTopic: Error, CustomStringConvertible {
        public let topic: String
        public var description: String { "the topic \(topic) does not exist; create the fleet's topics first (billsync topics ensure --apply)" }
    }

    /// Reads every partition (as many as the cluster says each topic has) to its end; returns
    /// where following starts.
    public func catchUp(connection: KafkaConnection, groupID: String, logger: Logger) async throws -> [KafkaTopicPartition: Int64] {
        let existing = try await KafkaAdmin(connection: connection, logger: logger).listTopics()
        var partitions: [KafkaTopicPartition] = []
        for topic in topics {
            guard let description = existing.first(where: { $0.name == topic }) else { throw MissingTopic(topic: topic) }
            partitions += description.partitions.map { KafkaTopicPartition(topic: topic, partition: $0.id) }
        }
        let snapshot = try await KafkaTopicSnapshot.read(partitions, connection: connection, groupID: groupID, timeout: .seconds(300),
                                                         logger: logger)
        try await take(snapshot.messages)
        logger.info("table read", metadata: ["billsync.table": "\(topics.joined(separator: ","))", "billsync.records": "\(snapshot.messages.count)"])
        var ends = snapshot.ends
        for partition in partitions where ends[partition] == nil { ends[partition] = KafkaOffset.beginning }
        return ends
    }

    /// A reader from `ends` on; run it and `follow` it until the stage stops.
    public func follower(from ends: [KafkaTopicPartition: Int64], connection: KafkaConnection, groupID: String,
                  logger: Logger) throws -> KafkaConsumer {
        var configuration = KafkaConsumerConfiguration(connection: connection, groupID: groupID, subscription: .partitions(ends))
        configuration.drainTimeout = .milliseconds(100)
        configuration.commitsOffsets = false
        return try KafkaConsumer(configuration: configuration, logger: logger)
    }

    public func follow(_ consumer: KafkaConsumer) async throws {
        var iterator = consumer.messages.makeAsyncIterator()
        while case let batch = try await iterator.next(upTo: 10_000), !batch.isEmpty {
            try await take(Array(batch))
            consumer.markDone(batch)
        }
    }
}

/// A stage that keeps tables: reads them to their ends, then runs the stage with their
/// followers beside it; the followers stop once the stage has drained and committed.
public final class StageWithTables<Handler: StageHandler>: Service, Sendable {
    let runtime: StageRuntime<Handler>
    let tables: [CompactedTable]
    let connection: KafkaConnection
    let groupID: String
    let logger: Logger

    public init(runtime: StageRuntime<Handler>, tables: [CompactedTable], connection: KafkaConnection, groupID: String, logger: Logger) {
        self.runtime = runtime
        self.tables = tables
        self.connection = connection
        self.groupID = groupID
        self.logger = logger
    }

    public func run() async throws {
        var followers: [(CompactedTable, KafkaConsumer)] = []
        for table in tables {
            let ends = try await table.catchUp(connection: connection, groupID: groupID, logger: logger)
            if table.follows { followers.append((table, try table.follower(from: ends, connection: connection, groupID: groupID, logger: logger))) }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (table, consumer) in followers {
                group.addTask { try await consumer.run() }
                group.addTask { try await table.follow(consumer) }
            }
            defer { for (_, consumer) in followers { consumer.triggerShutdown() } }
            try await runtime.run()
            for (_, consumer) in followers { consumer.triggerShutdown() }
            try await group.waitForAll()
        }
    }
}
