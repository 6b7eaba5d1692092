import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncTopics
import Foundation
import Logging

/// One record followed across the fleet's topics by its correlation id: extracted when and from
/// where, transformed into which upserts, loaded as which Salesforce id, or where it is stuck
/// (a retry tier not yet read again, a dead letter, the parking topic) and the command that
/// redrives it.
public struct Lineage: Sendable {
    public enum Step: String, Sendable, CaseIterable {
        case extracted, transformed, retrying, loaded, loadFailed = "load failed", deadLettered = "dead-lettered", parked

        /// Its place in the pipeline: orders events stamped in the same millisecond.
        var order: Int { Self.allCases.firstIndex(of: self)! }
    }

    public struct Event: Sendable {
        public var step: Step
        public var time: Date?
        public var position: FleetFacts.Position
        public var correlationId: String?
        public var detail: String
        /// Set by an operator's replay or redrive.
        public var replayID: String?
        /// Still waiting: a retry copy its stage has not read yet, a dead letter, a parked message.
        public var stuck = false
        /// For a dead letter: the command that sends it back.
        public var redrive: String?
    }

    public let key: String
    public private(set) var events: [Event] = []

    public var stuck: [Event] { events.filter(\.stuck) }
    public var correlations: [String] { Array(Set(events.compactMap(\.correlationId))).sorted() }

    /// Follows `key` through `messages` (the fleet's topics). `committed` is, per stage, its
    /// group's offsets on its retry topics: a retry copy below them has been read again.
    public init(key: String, messages: [KafkaConsumerMessage], catalog: TopicCatalog, committed: [Stage: [KafkaTopicPartition: Int64]]) {
        self.key = key
        let roles = Self.roles(catalog)
        var parsed: [(KafkaConsumerMessage, JSONValue?)] = []
        var correlations = Set<String>()
        for message in messages where roles[message.topic] != nil {
            let json = message.value.flatMap { try? JSONParser.parse($0) }
            parsed.append((message, json))
            // A roll-up's totals carry the correlation of whichever record completed their batch,
            // often another customer's: they are shown, but do not lead to other records.
            let rollupTotals = message.headers.last(named: StageHeaders.writtenBy) == Stage.rollup.rawValue
            if !rollupTotals, message.keyString == key || json?["businessKey"]?.stringValue == key, let correlation = Self.correlation(message, json) {
                correlations.insert(correlation)
            }
        }
        for (message, json) in parsed {
            let correlation = Self.correlation(message, json)
            guard correlation.map(correlations.contains) ?? false || message.keyString == key, let role = roles[message.topic] else { continue }
            events.append(Self.event(message, json: json, role: role, correlation: correlation, key: key, committed: committed))
        }
        events.sort { ($0.time ?? .distantPast, $0.step.order, $0.position.offset) < ($1.time ?? .distantPast, $1.step.order, $1.position.offset) }
    }

    enum Role {
        case raw, upserts, results, retry(Stage, tier: Int), deadLetters(Stage), parking
    }

    static func roles(_ catalog: TopicCatalog) -> [String: Role] {
        var roles: [String: Role] = [:]
        for entity in TopicCatalog.billingEntities { roles[catalog.rawTopic(entity)] = .raw }
        roles[catalog.upsertCommands] = .upserts
        roles[catalog.loadResults] = .results
        for stage in TopicCatalog.stages {
            for tier in 1...TopicCatalog.retryTiers { roles[catalog.retryTopic(stage: stage, tier: tier)] = .retry(stage, tier: tier) }
        }
        for stage in TopicCatalog.stages + [.extractor] { roles[catalog.deadLetterTopic(stage: stage)] = .deadLetters(stage) }
        roles[catalog.parking] = .parking
        return roles
    }

    /// The topics lineage reads.
    public static func topics(_ catalog: TopicCatalog) -> [String] { Array(roles(catalog).keys).sorted() }

    static func correlation(_ message: KafkaConsumerMessage, _ json: JSONValue?) -> String? {
        (message.headers.last(named: StageHeaders.correlationID) ?? json?["correlationId"]?.stringValue)?.lowercased()
    }

    static func event(_ message: KafkaConsumerMessage, json: JSONValue?, role: Role, correlation: String?, key: String,
                      committed: [Stage: [KafkaTopicPartition: Int64]]) -> Event {
        let position = FleetFacts.Position(topic: message.topic, partition: message.partition, offset: message.offset)
        let headers = message.headers
        let payload = json?["payload"]
        var event = Event(step: .extracted, time: message.timestamp, position: position, correlationId: correlation, detail: "",
                          replayID: headers.last(named: StageHeaders.replayID))
        func failure() -> String {
            let field = headers.last(named: StageHeaders.errorPointer).map { " at \($0)" } ?? ""
            return "\(headers.last(named: StageHeaders.errorCode) ?? "unknown")\(field): \(headers.last(named: StageHeaders.errorMessage) ?? "")"
        }
        switch role {
        case .raw:
            let source = [json?["source"]?["system"]?.stringValue, json?["source"]?["name"]?.stringValue].compactMap { $0 }.joined(separator: " ")
            let file = headers.last(named: StageHeaders.originFile).map { ", \($0) line \(headers.last(named: StageHeaders.originLine) ?? "?")" } ?? ""
            event.detail = "\(json?["type"]?.stringValue ?? "record") from \(source.isEmpty ? "?" : source)\(file)"
            if let extractedAt = json?["extractedAt"]?.stringValue { event.detail += ", extracted at \(extractedAt)" }
        case .upserts:
            event.step = .transformed
            let by = headers.last(named: StageHeaders.writtenBy).map { " by \($0)" } ?? ""
            event.detail = "upsert \(payload?["object"]?.stringValue ?? "?") \(payload?["externalIdField"]?.stringValue ?? "?")=\(payload?["externalId"]?.stringValue ?? "?")\(by)"
        case .results:
            let object = payload?["object"]?.stringValue ?? "?"
            let sink = payload?["sink"]?.stringValue ?? "?"
            if payload?["success"] == .bool(true) {
                event.step = .loaded
                event.detail = "\(object) \(payload?["externalId"]?.stringValue ?? "?") \(payload?["outcome"]?.stringValue ?? "") in \(sink) as \(payload?["recordId"]?.stringValue ?? "?")"
            } else {
                event.step = .loadFailed
                var errors: [String] = []
                if case let .array(list)? = payload?["errors"] {
                    errors = list.compactMap { error in error["code"]?.stringValue.map { "\($0): \(error["message"]?.stringValue ?? "")" } }
                }
                event.detail = "\(object) \(payload?["externalId"]?.stringValue ?? "?") in \(sink): \(errors.joined(separator: "; "))"
            }
        case let .retry(stage, tier):
            event.step = .retrying
            let read = (committed[stage]?[position.topicPartition]).map { $0 > message.offset } ?? false
            event.stuck = !read
            let due = headers.last(named: StageHeaders.dueAt).flatMap(Double.init).map {
                ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: $0 / 1000))
            }
            event.detail = "\(stage.rawValue) retry tier \(tier), attempt \(headers.last(named: StageHeaders.attempts) ?? "?")"
                + (read ? ", since read again" : ", waiting" + (due.map { " until \($0)" } ?? "")) + ": \(failure())"
        case let .deadLetters(stage):
            event.step = .deadLettered
            event.stuck = true
            let failedStage = headers.last(named: StageHeaders.stage) ?? stage.rawValue
            event.detail = "by \(failedStage) after \(headers.last(named: StageHeaders.attempts) ?? "?") attempts: \(failure())"
            if stage != .extractor {
                event.redrive = RedriveCommand.for(stage: failedStage, code: headers.last(named: StageHeaders.errorCode) ?? "unknown",
                                                   field: headers.last(named: StageHeaders.errorPointer), key: key)
            } else {
                event.redrive = "fix the source row and extract again (the extractor refused it)"
            }
        case .parking:
            event.step = .parked
            event.stuck = true
            event.detail = "after \(headers.last(named: StageHeaders.redriveCount) ?? "?") redrives: \(failure())"
        }
        return event
    }

    /// A dead letter that was redriven later (a newer message of the same correlation on the
    /// topic it failed from carries a replay id) is not stuck any more.
    public mutating func settleRedriven() {
        for index in events.indices where events[index].step == .deadLettered {
            let dead = events[index]
            guard dead.correlationId != nil else { continue }
            let laterReplayed = events.contains {
                $0.correlationId == dead.correlationId && $0.replayID != nil && ($0.time ?? .distantPast) > (dead.time ?? .distantPast)
                    && $0.step != .deadLettered && $0.step != .parked && $0.step != .retrying
            }
            if laterReplayed {
                events[index].stuck = false
                events[index].redrive = nil
            }
        }
    }

    /// The timeline as `billsync lineage` prints it.
    public var text: String {
        guard !events.isEmpty else { return "no record with business key \(key) on the fleet's topics" }
        let formatter = ISO8601DateFormatter()
        var lines = ["lineage of \(key): \(events.count) messages, \(correlations.count) extraction\(correlations.count == 1 ? "" : "s")"]
        for correlation in correlations + (events.contains { $0.correlationId == nil } ? [""] : []) {
            let own = events.filter { ($0.correlationId ?? "") == correlation }
            lines.append("")
            lines.append(correlation.isEmpty ? "without a correlation id" : "correlation \(correlation)")
            var table = TextTable(["time", "step", "where", "what"])
            for event in own {
                let marks = (event.replayID.map { " [replay \($0.prefix(8))]" } ?? "") + (event.stuck ? " [stuck]" : "")
                table.add([event.time.map(formatter.string(from:)) ?? "-", event.step.rawValue,
                           "\(event.position.topic):\(event.position.partition):\(event.position.offset)", event.detail + marks])
            }
            lines.append(table.rendered(indent: "  "))
        }
        let stuck = self.stuck
        lines.append("")
        if stuck.isEmpty {
            let loaded = events.filter { $0.step == .loaded }.count
            lines.append(loaded > 0 ? "done: loaded \(loaded) time\(loaded == 1 ? "" : "s"), nothing waiting" : "nothing waiting, nothing loaded yet")
        } else {
            for event in stuck {
                lines.append("stuck: \(event.step.rawValue) at \(event.position.topic):\(event.position.partition):\(event.position.offset): \(event.detail)")
                if let redrive = event.redrive { lines.append("  redrive: \(redrive) --apply") }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Reads the fleet's topics that exist and the stages' offsets on their retry topics, and follows `key`.
    public static func trace(key: String, connection: KafkaConnection, catalog: TopicCatalog, groupID: String, logger: Logger) async throws -> Lineage {
        let admin = try KafkaAdmin(connection: connection, logger: logger)
        let existing = try await admin.listTopics()
        let wanted = Set(topics(catalog))
        let partitions = existing.filter { wanted.contains($0.name) }.flatMap { topic in
            topic.partitions.map { KafkaTopicPartition(topic: topic.name, partition: $0.id) }
        }
        var committed: [Stage: [KafkaTopicPartition: Int64]] = [:]
        for stage in TopicCatalog.stages {
            let retries = Set(catalog.retryTopics(stage: stage))
            committed[stage] = try await admin.consumerGroupOffsets(catalog.group(of: stage), partitions: partitions.filter { retries.contains($0.topic) })
        }
        let snapshot = try await KafkaTopicSnapshot.read(partitions, connection: connection, groupID: groupID, timeout: .seconds(300), logger: logger)
        var lineage = Lineage(key: key, messages: snapshot.messages, catalog: catalog, committed: committed)
        lineage.settleRedriven()
        return lineage
    }
}
