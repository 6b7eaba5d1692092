import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncTopics
import Foundation
import Logging

/// One dead letter as the operator tool sees it: where it sits, why it failed, and what it was.
public struct DeadLetterEntry: Sendable {
    public let message: KafkaConsumerMessage
    public let facts: FleetFacts.DeadLetter
    /// The topic it failed from (where a redrive sends it back).
    public let originTopic: String?
    /// When it was dead-lettered (the record's timestamp).
    public let deadLetteredAt: Date?
    /// Redrives so far.
    public let redrives: Int

    public init(message: KafkaConsumerMessage, topicStage: Stage) {
        self.message = message
        let json = message.value.flatMap { try? JSONParser.parse($0) }
        facts = FleetFacts.DeadLetter(message: message, topicStage: topicStage, json: json)
        originTopic = message.headers.last(named: StageHeaders.originTopic)
        deadLetteredAt = message.timestamp
        redrives = message.headers.last(named: StageHeaders.redriveCount).flatMap(Int.init) ?? 0
    }

    /// `topic:partition:offset`, what `dlq show` takes.
    public var address: String { "\(message.topic):\(message.partition):\(message.offset)" }
}

/// Which dead letters a command works on: every criterion given must hold.
public struct DeadLetterFilter: Sendable, CustomStringConvertible {
    public var stage: String?
    public var code: String?
    /// The header's pointer or column, as the alert's redrive command prints it.
    public var field: String?
    public var keys: Set<String> = []
    public var since: Date?
    public var until: Date?

    public init(stage: String? = nil, code: String? = nil, field: String? = nil, keys: Set<String> = [], since: Date? = nil, until: Date? = nil) {
        self.stage = stage
        self.code = code
        self.field = field
        self.keys = keys
        self.since = since
        self.until = until
    }

    public func matches(_ entry: DeadLetterEntry) -> Bool {
        if let stage, entry.facts.stage.rawValue != stage { return false }
        if let code, entry.facts.code != code { return false }
        if let field, (entry.facts.field ?? "") != field { return false }
        if !keys.isEmpty, !keys.contains(entry.facts.example), !keys.contains(entry.message.keyString ?? "") { return false }
        if let since, (entry.deadLetteredAt ?? .distantPast) < since { return false }
        if let until, (entry.deadLetteredAt ?? .distantFuture) > until { return false }
        return true
    }

    public var description: String {
        var parts: [String] = []
        if let stage { parts.append("--stage \(stage)") }
        if let code { parts.append("--code \(code)") }
        if let field { parts.append("--field \(field)") }
        for key in keys.sorted() { parts.append("--key \(key)") }
        let formatter = ISO8601DateFormatter()
        if let since { parts.append("--since \(formatter.string(from: since))") }
        if let until { parts.append("--until \(formatter.string(from: until))") }
        return parts.isEmpty ? "(every dead letter)" : parts.joined(separator: " ")
    }
}

/// Dead letters read from every dead-letter topic of a fleet, as they are now.
public enum DeadLetterReader {
    public static func read(connection: KafkaConnection, catalog: TopicCatalog, groupID: String,
                            logger: Logger) async throws -> [DeadLetterEntry] {
        let admin = try KafkaAdmin(connection: connection, logger: logger)
        let existing = Dictionary(try await admin.listTopics().map { ($0.name, $0.partitions.map(\.id)) }, uniquingKeysWith: { a, _ in a })
        var stages: [String: Stage] = [:]
        for stage in TopicCatalog.stages + [.extractor] { stages[catalog.deadLetterTopic(stage: stage)] = stage }
        let partitions = stages.keys.flatMap { topic in (existing[topic] ?? []).map { KafkaTopicPartition(topic: topic, partition: $0) } }
        let snapshot = try await KafkaTopicSnapshot.read(partitions, connection: connection, groupID: groupID, logger: logger)
        return snapshot.messages.compactMap { message in
            stages[message.topic].map { DeadLetterEntry(message: message, topicStage: $0) }
        }
    }
}

/// Dead letters grouped by stage, error code and field, largest first: what `dlq list` prints.
public struct DeadLetterGroupSummary: Sendable {
    public var stage: String
    public var code: String
    public var field: String?
    public var count = 0
    public var first: Date?
    public var last: Date?
    public var examples: [String] = []
    public var reason: String

    public static func of(_ entries: [DeadLetterEntry]) -> [DeadLetterGroupSummary] {
        var groups: [String: DeadLetterGroupSummary] = [:]
        for entry in entries {
            let key = "\(entry.facts.stage)|\(entry.facts.code)|\(entry.facts.field ?? "")"
            var group = groups[key] ?? DeadLetterGroupSummary(stage: entry.facts.stage.rawValue, code: entry.facts.code,
                                                              field: entry.facts.field, reason: entry.facts.reason)
            group.count += 1
            if let at = entry.deadLetteredAt {
                group.first = min(group.first ?? at, at)
                group.last = max(group.last ?? at, at)
            }
            if group.examples.count < 3, !group.examples.contains(entry.facts.example) { group.examples.append(entry.facts.example) }
            groups[key] = group
        }
        return groups.values.sorted { ($0.count, $1.stage, $1.code) > ($1.count, $0.stage, $0.code) }
    }
}
