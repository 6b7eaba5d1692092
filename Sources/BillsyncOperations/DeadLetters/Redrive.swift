import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncTopics
import Foundation
import Logging

/// Sends a filtered set of dead letters back to the topic each failed from, marked as a
/// redrive: billsync's failure headers removed (the stage sees a fresh message), the replay id
/// and the redrive count set. One redriven `limit` times already goes to the parking topic
/// instead, so a record that cannot pass stops looping. Optionally through a fix: a field of
/// the message set to a value (for a group that failed on a value corrected upstream), the
/// result validated against its contract first.
public struct Redrive: Sendable {
    /// What a redrive would do, before it does it: the dry run prints this.
    public struct Plan: Sendable {
        public var send: [DeadLetterEntry] = []
        /// Redriven `limit` times already: to the parking topic.
        public var park: [DeadLetterEntry] = []
        /// Rows the extractor refused (no message to send back): fix the file and extract again.
        public var unroutable: [DeadLetterEntry] = []
        /// Dead letters of a message that failed again after a redrive: only its newest dead
        /// letter is sent, or every redrive would send the message once more per earlier failure.
        public var superseded: [DeadLetterEntry] = []

        /// Messages per topic they would be sent to.
        public var perTopic: [String: Int] {
            Dictionary(send.compactMap(\.originTopic).map { ($0, 1) }, uniquingKeysWith: +)
        }

        public var distinctKeys: Int { Set(send.map(\.facts.example)).count }
    }

    /// A fix: the value at `pointer` (e.g. `/payload/fields/MailingStreet`) set to `value`
    /// (JSON if it parses as JSON, else a string).
    public struct Fix: Sendable {
        public var pointer: JSONPointer
        public var value: JSONValue

        public init?(_ assignment: String) {
            guard let equals = assignment.firstIndex(of: "="), let pointer = JSONPointer(parsing: assignment[..<equals]),
                  !pointer.tokens.isEmpty else { return nil }
            let text = String(assignment[assignment.index(after: equals)...])
            self.pointer = pointer
            self.value = (try? JSONParser.parse(Array(text.utf8))) ?? .string(text)
        }
    }

    public var catalog: TopicCatalog
    public var contracts: MessageContracts
    /// Redrives a dead letter may have had before it is parked instead.
    public var limit = 3
    public var fixes: [Fix] = []

    public init(catalog: TopicCatalog, contracts: MessageContracts, limit: Int = 3, fixes: [Fix] = []) {
        self.catalog = catalog
        self.contracts = contracts
        self.limit = limit
        self.fixes = fixes
    }

    /// What a redrive of `filter` would do. `after` (a stopped redrive's `through`) leaves out
    /// what that one already did. Entries go in dead-letter topic, partition and offset order, so
    /// "done through offset n" per partition says exactly what was done.
    public func plan(_ entries: [DeadLetterEntry], filter: DeadLetterFilter, after done: [String: Int64] = [:]) -> Plan {
        var plan = Plan()
        let ordered = entries.sorted { ($0.message.topic, $0.message.partition, $0.message.offset) < ($1.message.topic, $1.message.partition, $1.message.offset) }
        // Per dead-letter topic: one message read by two stages (transformer and rollup, the two
        // loaders) has a dead letter in each, and each is redriven on its own.
        var newest: [String: (redrives: Int, offset: Int64)] = [:]
        for entry in ordered {
            guard let id = entry.facts.originalId.map({ "\(entry.message.topic)|\($0)" }) else { continue }
            if let known = newest[id], (known.redrives, known.offset) > (entry.redrives, entry.message.offset) { continue }
            newest[id] = (entry.redrives, entry.message.offset)
        }
        for entry in ordered where filter.matches(entry) {
            if let through = done[Self.partition(of: entry)], entry.message.offset <= through { continue }
            if let id = entry.facts.originalId.map({ "\(entry.message.topic)|\($0)" }), let latest = newest[id],
               latest != (entry.redrives, entry.message.offset) {
                plan.superseded.append(entry)
                continue
            }
            if entry.originTopic == nil || entry.facts.stage == .extractor {
                plan.unroutable.append(entry)
            } else if entry.redrives >= limit {
                plan.park.append(entry)
            } else {
                plan.send.append(entry)
            }
        }
        return plan
    }

    static func partition(of entry: DeadLetterEntry) -> String { Republisher.key(position(of: entry)) }

    public struct FixFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// The message that goes back to where the dead letter failed.
    public func message(for entry: DeadLetterEntry, replayID: String) throws -> KafkaProducerMessage {
        var headers = entry.message.headers.filter { !StageHeaders.owned.contains($0.name) && $0.name != StageHeaders.redriveCount
            && $0.name != StageHeaders.replayID }
        headers.append(KafkaHeader(name: StageHeaders.replayID, string: replayID))
        headers.append(KafkaHeader(name: StageHeaders.redriveCount, string: String(entry.redrives + 1)))
        return KafkaProducerMessage(topic: entry.originTopic!, key: entry.message.key, value: try fixed(entry), headers: headers)
    }

    func fixed(_ entry: DeadLetterEntry) throws -> [UInt8]? {
        guard !fixes.isEmpty else { return entry.message.value }
        guard let value = entry.message.value, var document = try? JSONParser.parse(value) else {
            throw FixFailed(description: "\(entry.address) is not JSON: a fix cannot be applied")
        }
        for fix in fixes { document = Self.setting(fix.value, at: fix.pointer.tokens[...], in: document) }
        if case let .failure(violation) = contracts.validate(document: document) {
            throw FixFailed(description: "\(entry.address) with the fix breaks its contract: \(violation)")
        }
        return document.serialized()
    }

    static func setting(_ value: JSONValue, at tokens: ArraySlice<String>, in document: JSONValue) -> JSONValue {
        guard let first = tokens.first else { return value }
        guard case var .object(object) = document else { return document }
        object[first] = setting(value, at: tokens.dropFirst(), in: object[first] ?? .object(JSONObject()))
        return .object(object)
    }

    /// The dead letter as it is, on the parking topic.
    public func parked(_ entry: DeadLetterEntry) -> KafkaProducerMessage {
        KafkaProducerMessage(topic: catalog.parking, key: entry.message.key, value: entry.message.value, headers: entry.message.headers)
    }

    /// Sends the plan at most `rate` messages a second, telling `progress` after each, recorded on
    /// the operator activity topic (see `Republisher`). `resuming` goes on with a stopped redrive
    /// (its id, counts and `through`), planned with `after:` its `through`.
    public func run(_ plan: Plan, filter: DeadLetterFilter, by operatorName: String, rate: Double?, producer: KafkaProducer,
                    resuming: OperatorActivity? = nil, progress: @Sendable (Int, Int) -> Void = { _, _ in }) async throws -> OperatorActivity {
        let stages = Array(Set(plan.send.map(\.facts.stage.rawValue) + plan.park.map(\.facts.stage.rawValue))).sorted()
        var activity = resuming ?? OperatorActivity(kind: .redrive, stages: stages.isEmpty ? ["none"] : stages, startedAt: .now,
                                                    startedBy: operatorName, description: "dlq redrive", filter: filter.description,
                                                    count: 0, parked: 0, through: [:])
        activity.description = "dlq redrive: \(plan.send.count) to send, \(plan.park.count) to park"
            + (resuming == nil ? "" : ", resumed by \(operatorName)")
        let replayID = activity.activityId.uuidString.lowercased()
        let steps = try plan.park.map { Republisher.Step(source: Self.position(of: $0), message: parked($0), parks: true) }
            + plan.send.map { Republisher.Step(source: Self.position(of: $0), message: try message(for: $0, replayID: replayID)) }
        return try await Republisher(catalog: catalog, contracts: contracts).run(steps, activity: activity, rate: rate, producer: producer,
                                                                               progress: progress)
    }

    static func position(of entry: DeadLetterEntry) -> FleetFacts.Position {
        FleetFacts.Position(topic: entry.message.topic, partition: entry.message.partition, offset: entry.message.offset)
    }
}
