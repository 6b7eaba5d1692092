import BillsyncContracts
import BillsyncKafka
import BillsyncTopics
import Foundation
import Logging

/// Re-publishes a range of a topic for a backfill: the selected messages go (again) to the topic
/// the stages read, unchanged but for billsync's failure headers, marked with the replay id
/// (`billsync.replay-id`: the transformer does not suppress them as unchanged, the alerter
/// annotates instead of paging, lineage shows them).
public struct Replay: Sendable {
    public struct Plan: Sendable {
        public var selection: ReplaySelection
        /// Where they go: the topic itself unless `--into` names another.
        public var into: String
        /// In partition and offset order, so "done through offset n" per partition is exact.
        public var messages: [KafkaConsumerMessage]
        public var effect: ReplayEffect
    }

    public var catalog: TopicCatalog
    public var contracts: MessageContracts

    public init(catalog: TopicCatalog, contracts: MessageContracts) {
        self.catalog = catalog
        self.contracts = contracts
    }

    /// The stages that read `topic`, whose alerts the replay annotates.
    public func readers(of topic: String) -> [Stage] {
        TopicCatalog.stages.filter { catalog.inputs(of: $0).contains(topic) }
    }

    /// Reads the topic's partitions (from where `selection` starts) to their end.
    public static func read(_ selection: ReplaySelection, partitions: Int32, connection: KafkaConnection, groupID: String,
                            logger: Logger) async throws -> KafkaTopicSnapshot.Snapshot {
        let wanted = (0..<partitions).filter { !selection.skips(partition: $0) }.map { KafkaTopicPartition(topic: selection.topic, partition: $0) }
        var start: [KafkaTopicPartition: Int64] = [:]
        for partition in wanted { start[partition] = selection.startOffset(partition: partition.partition) }
        return try await KafkaTopicSnapshot.read(wanted, from: start, connection: connection, groupID: groupID, timeout: .seconds(300),
                                                 logger: logger)
    }

    /// What a replay of `selection` would send. `after` (a stopped replay's `through`) leaves out
    /// what that one already sent.
    public func plan(_ messages: [KafkaConsumerMessage], selection: ReplaySelection, into: String? = nil, after done: [String: Int64] = [:],
                     resuming: UUID? = nil, upserts: (KafkaConsumerMessage) -> [ReplayEffect.Upsert]) -> Plan {
        // A resumed replay into its own topic finds its first part's copies there: never again.
        let ownID = resuming.map { $0.uuidString.lowercased() }
        let chosen = messages.filter { message in
            guard selection.matches(message) else { return false }
            if let ownID, message.headers.last(named: StageHeaders.replayID) == ownID { return false }
            let position = FleetFacts.Position(topic: message.topic, partition: message.partition, offset: message.offset)
            return done[Republisher.key(position)].map { message.offset > $0 } ?? true
        }.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
        return Plan(selection: selection, into: into ?? selection.topic, messages: chosen, effect: ReplayEffect(chosen, upserts: upserts))
    }

    /// The selection and destination as the activity records them, and `--resume` compares them.
    public static func filter(_ selection: ReplaySelection, into: String) -> String {
        "\(selection) into=\(into)"
    }

    /// The message as it is re-published.
    public func message(for message: KafkaConsumerMessage, into topic: String, replayID: String) -> KafkaProducerMessage {
        var headers = message.headers.filter { !StageHeaders.owned.contains($0.name) && $0.name != StageHeaders.replayID }
        headers.append(KafkaHeader(name: StageHeaders.replayID, string: replayID))
        return KafkaProducerMessage(topic: topic, key: message.key, value: message.value, headers: headers)
    }

    /// Sends the plan (see `Republisher`); `resuming` goes on with a stopped replay.
    public func run(_ plan: Plan, by operatorName: String, rate: Double?, producer: KafkaProducer, resuming: OperatorActivity? = nil,
                    progress: @Sendable (Int, Int) -> Void = { _, _ in }) async throws -> OperatorActivity {
        let stages = readers(of: plan.into).map(\.rawValue)
        var activity = resuming ?? OperatorActivity(kind: .replay, stages: stages.isEmpty ? ["none"] : stages, startedAt: .now,
                                                    startedBy: operatorName, description: "replay", filter: Self.filter(plan.selection, into: plan.into),
                                                    count: 0, parked: 0, through: [:])
        activity.description = "replay into \(plan.into): \(plan.messages.count) messages, \(plan.effect.distinctKeys) keys"
            + (resuming == nil ? "" : ", resumed by \(operatorName)")
        let replayID = activity.activityId.uuidString.lowercased()
        let steps = plan.messages.map {
            Republisher.Step(source: FleetFacts.Position(topic: $0.topic, partition: $0.partition, offset: $0.offset),
                             message: message(for: $0, into: plan.into, replayID: replayID))
        }
        return try await Republisher(catalog: catalog, contracts: contracts).run(steps, activity: activity, rate: rate, producer: producer,
                                                                               progress: progress)
    }
}
