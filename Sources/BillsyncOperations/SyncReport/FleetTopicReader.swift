import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncTopics
import Foundation
import Logging

/// Reads a fleet's topics (raw records, upserts, results, retry and dead-letter topics) from the
/// beginning, without joining any group, and the stages' committed offsets, into a
/// `FleetLedger`. Kept open, each `refresh` reads only what arrived since the last one: each
/// message is read and parsed once, and the ledger keeps only what is still in flight.
public struct FleetTopicReader {
    let consumer: KafkaConsumer
    /// Every partition read; the consumer's own assignment is empty until its first poll.
    let partitions: [KafkaTopicPartition]
    var iterator: KafkaConsumerMessages.AsyncIterator
    let queries: [Stage: KafkaConsumer]
    let stageInputs: [Stage: [KafkaTopicPartition]]
    let topicRoles: [String: Role]
    var next: [KafkaTopicPartition: Int64] = [:]
    public private(set) var ledger: FleetLedger
    /// Per stage (its consumer group): the next offset it will read, per partition it committed.
    public private(set) var committed: [Stage: [KafkaTopicPartition: Int64]] = [:]
    /// Per partition read: the offset the next message will get (its high watermark), and the oldest retained.
    var ends: [KafkaTopicPartition: Int64] = [:]
    var starts: [KafkaTopicPartition: Int64] = [:]

    enum Role {
        case raw, upserts, results
        case deadLetters(stage: Stage)
        case retry(stage: Stage)
    }

    /// Opens the reader on every topic of `catalog` that exists, runs `body` with it, and closes
    /// it. `stages` are the stages whose committed offsets and lag matter (those that run); the
    /// accounting stages among them decide when a record reached its end (`FleetLedger`).
    public static func reading<Result: Sendable>(
        connection: KafkaConnection, catalog: TopicCatalog, stages: [Stage] = TopicCatalog.stages, ledger: FleetLedger, logger: Logger,
        _ body: (inout FleetTopicReader) async throws -> Result
    ) async throws -> Result {
        let admin = try KafkaAdmin(connection: connection, logger: logger)
        let existing = Dictionary(try await admin.listTopics().map { ($0.name, $0.partitions.map(\.id)) }, uniquingKeysWith: { a, _ in a })
        var roles: [String: Role] = [:]
        for entity in TopicCatalog.billingEntities { roles[catalog.rawTopic(entity)] = .raw }
        roles[catalog.upsertCommands] = .upserts
        roles[catalog.loadResults] = .results
        for stage in TopicCatalog.stages + [.extractor] { roles[catalog.deadLetterTopic(stage: stage)] = .deadLetters(stage: stage) }
        for stage in TopicCatalog.stages {
            for retry in catalog.retryTopics(stage: stage) { roles[retry] = .retry(stage: stage) }
        }
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for (topic, _) in roles {
            for partition in existing[topic] ?? [] { offsets[KafkaTopicPartition(topic: topic, partition: partition)] = KafkaOffset.beginning }
        }
        var configuration = KafkaConsumerConfiguration(connection: connection, groupID: "\(catalog.prefix)-report-\(UUID().uuidString.prefix(8))",
                                                       subscription: .partitions(offsets))
        configuration.drainTimeout = .milliseconds(100)
        configuration.commitsOffsets = false
        // Short fetch waits: a refresh ends once a fetch answer newer than its start shows the end.
        configuration.properties["fetch.wait.max.ms"] = "100"
        // A small prefetch, as the workers' (librdkafka's defaults queue 64 MB, and hold each lz4
        // batch decompressed until its last message is read): the reader's memory is then the
        // ledger's, not the topics'. 4 MiB per fetch keeps a first read of a long history fast.
        configuration.properties.merge([
            "queued.max.messages.kbytes": "2048", "fetch.max.bytes": "4194304", "max.partition.fetch.bytes": "262144",
            "fetch.queue.backoff.ms": "10",
        ]) { _, reader in reader }
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        var queries: [Stage: KafkaConsumer] = [:]
        var stageInputs: [Stage: [KafkaTopicPartition]] = [:]
        for stage in stages {
            let inputs = catalog.inputs(of: stage) + catalog.retryTopics(stage: stage)
            stageInputs[stage] = inputs.flatMap { topic in (existing[topic] ?? []).map { KafkaTopicPartition(topic: topic, partition: $0) } }
            let handle = KafkaConsumerConfiguration(connection: connection, groupID: catalog.group(of: stage), subscription: .topics([]))
            queries[stage] = try KafkaConsumer(configuration: handle, logger: logger)
        }
        var ledger = ledger
        ledger.setReaders(readers(of: stages, catalog: catalog))
        var reader = FleetTopicReader(consumer: consumer, partitions: Array(offsets.keys), iterator: consumer.messages.makeAsyncIterator(), queries: queries,
                                      stageInputs: stageInputs, topicRoles: roles, ledger: ledger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            defer { consumer.triggerShutdown() }
            let result = try await body(&reader)
            consumer.triggerShutdown()
            try await group.waitForAll()
            return result
        }
    }

    /// Per topic, the accounting stages among `stages` that read it (inputs and retry topics).
    static func readers(of stages: [Stage], catalog: TopicCatalog) -> [String: [Stage]] {
        var readers: [String: [Stage]] = [:]
        for stage in stages where [.transformer, .rollup, .loader, .loaderBilling].contains(stage) {
            for topic in catalog.inputs(of: stage) + catalog.retryTopics(stage: stage) { readers[topic, default: []].append(stage) }
        }
        return readers
    }

    /// Reads the stages' committed offsets, then every topic up to its end as the fetch answers
    /// report it, waiting 300 ms for answers newer than the offsets: whatever a stage committed,
    /// its outputs are then normally in the ledger. A fetch answer that came too early would
    /// only delay a record's end: the ledger closes a record once it saw it at its end at two
    /// refreshes in a row. A first read of a long history takes as long as it takes; `timeout`
    /// bounds a wait in which nothing arrives. Returns whether any stage committed something
    /// since the last refresh.
    @discardableResult
    public mutating func refresh(timeout: Duration = .seconds(60)) async throws -> Bool {
        let before = committed
        for (stage, partitions) in stageInputs where !partitions.isEmpty {
            // A partition the group never committed answers a negative offset (librdkafka's "invalid").
            let offsets = try await queries[stage]!.committedOffsets(for: partitions).filter { $0.value >= 0 }
            committed[stage] = offsets
            ledger.setCommitted(offsets, of: stage)
        }
        let clock = ContinuousClock()
        let started = clock.now
        var lastRead = started
        // A fetch answer (fetch.wait.max.ms is 100 ms) taken after the committed offsets were read.
        let fresh = started + .milliseconds(300)
        while true {
            let batch = try iterator.nextIfAvailable(upTo: 5_000)
            if !batch.isEmpty {
                for message in batch { record(message) }
                consumer.markDone(batch)
                lastRead = clock.now
                // A long first read is work on the cooperative pool: let the process's other tasks run between batches.
                await Task.yield()
                continue
            }
            if clock.now >= fresh, atEnd() {
                ledger.settle()
                return committed != before
            }
            guard clock.now - lastRead < timeout else {
                throw KafkaError(kind: .broker, message: "the fleet's topics were not read to their end: nothing arrived for \(timeout)")
            }
            // Nothing signals "the fetch answer's watermark moved": the end can only be checked for.
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    mutating func atEnd() -> Bool {
        for partition in partitions {
            guard let marks = consumer.cachedWatermarks(for: partition) else { return false }
            ends[partition] = marks.high
            starts[partition] = marks.low
            if max(next[partition] ?? 0, marks.low) < marks.high { return false }
        }
        return true
    }

    mutating func record(_ message: KafkaConsumerMessage) {
        next[message.topicPartition] = message.offset + 1
        guard let role = topicRoles[message.topic], let value = message.value else { return }
        let position = FleetFacts.Position(topic: message.topic, partition: message.partition, offset: message.offset)
        let json = try? JSONParser.parse(value)
        let id = json?["id"]?.stringValue
        let source = json?["source"]?["name"]?.stringValue
        let extractedAt = { json?["extractedAt"]?.stringValue.flatMap(Timestamp.init(parsing:))?.date }
        switch role {
        case .raw:
            guard let json, let id, let type = json["type"]?.stringValue else { return }
            ledger.take(FleetFacts.RawRecord(
                id: id, type: type, businessKey: json["businessKey"]?.stringValue ?? "", sourceName: source ?? "",
                position: position, file: message.headers.last(named: StageHeaders.originFile),
                line: message.headers.last(named: StageHeaders.originLine).flatMap(Int.init),
                extractedAt: extractedAt(), billingCycle: FleetFacts.RawRecord.billingCycle(of: json)))
        case .upserts:
            guard let json, let id, let cause = json["causationId"]?.stringValue, let payload = json["payload"] else { return }
            ledger.take(FleetFacts.Upsert(
                id: id, causationId: cause, object: payload["object"]?.stringValue ?? "", externalId: payload["externalId"]?.stringValue ?? "",
                writtenBy: message.headers.last(named: StageHeaders.writtenBy).map(Stage.init(rawValue:)), position: position,
                writtenAt: message.timestamp, sourceName: source, extractedAt: extractedAt()), payload: payload)
        case .results:
            guard let json, let cause = json["causationId"]?.stringValue, let payload = json["payload"] else { return }
            ledger.take(FleetFacts.LoadResult(
                causationId: cause, sink: payload["sink"]?.stringValue ?? "", object: payload["object"]?.stringValue ?? "",
                outcome: payload["outcome"]?.stringValue ?? "", writtenAt: message.timestamp, sourceName: source))
        case let .retry(stage):
            guard let id else { return }
            ledger.take(FleetFacts.RetryCopy(stage: stage, originalId: id, position: position, sourceName: source))
        case let .deadLetters(stage):
            ledger.take(FleetFacts.DeadLetter(message: message, topicStage: stage, json: json))
        }
    }

    /// Forgets the ledger's counters of records extracted before `date` (`FleetLedger.forget`).
    public mutating func forget(extractedBefore date: Date) {
        ledger.forget(extractedBefore: date)
    }

    /// Messages each stage has not handled yet, over its inputs and retry topics.
    public func lag() -> [Stage: Int64] {
        var lag: [Stage: Int64] = [:]
        for (stage, partitions) in stageInputs {
            lag[stage] = partitions.reduce(Int64(0)) { sum, partition in
                guard let end = ends[partition] else { return sum }
                let next = committed[stage]?[partition] ?? starts[partition] ?? 0
                return sum + max(0, end - next)
            }
        }
        return lag
    }
}
