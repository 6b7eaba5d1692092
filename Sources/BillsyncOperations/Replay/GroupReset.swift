import BillsyncContracts
import BillsyncKafka
import BillsyncTopics
import Foundation
import Logging

/// A replay by moving a stage's consumer group back: the stage reads the topic again from a time
/// or offset. Only while the group has no members (Kafka refuses otherwise, and a running
/// member would overwrite the offsets with its next commit); never forwards (that would skip
/// messages, which a replay never does). Checked after: the offsets read back must be those set.
public struct GroupReset: Sendable {
    public struct Plan: Sendable {
        public var stage: Stage
        public var group: String
        public var topic: String
        /// Per partition: where the group is now (nil: it never committed) and where it will be.
        public var moves: [Int32: (from: Int64?, to: Int64)]
        /// The messages the stage will read again.
        public var effect: ReplayEffect
        /// Partitions where the target lies after the group's position.
        public var forwards: [Int32] { moves.filter { move in move.value.from.map { $0 < move.value.to } ?? false }.keys.sorted() }

        public var offsets: [KafkaTopicPartition: Int64] {
            Dictionary(uniqueKeysWithValues: moves.map { (KafkaTopicPartition(topic: topic, partition: $0.key), $0.value.to) })
        }

        public var text: String {
            var table = TextTable(["partition", "group at", "reset to", "messages again"], numericColumns: [0, 1, 2, 3])
            for (partition, move) in moves.sorted(by: { $0.key < $1.key }) {
                table.add(["\(partition)", move.from.map(String.init) ?? "none", "\(move.to)", "\(effect.partitions[partition]?.messages ?? 0)"])
            }
            return "reset group \(group) (\(stage.rawValue)) on \(topic)\n\(table.rendered(indent: "  "))\n\(effect.text())"
        }
    }

    public struct Refused: Error, CustomStringConvertible {
        public let description: String
    }

    /// The broker took the reset, but the offsets read back differ: the group has changed.
    public struct NotApplied: Error, CustomStringConvertible {
        public let description: String
    }

    /// What moving `stage`'s group to `selection.from` would do. `snapshot` is the topic as it is now.
    public static func plan(stage: Stage, group: String, selection: ReplaySelection, snapshot: KafkaTopicSnapshot.Snapshot,
                            committed: [KafkaTopicPartition: Int64], upserts: (KafkaConsumerMessage) -> [ReplayEffect.Upsert]) -> Plan {
        var moves: [Int32: (from: Int64?, to: Int64)] = [:]
        var again: [KafkaConsumerMessage] = []
        let byPartition = Dictionary(grouping: snapshot.messages, by: \.partition)
        for (partition, end) in snapshot.ends where partition.topic == selection.topic && !selection.skips(partition: partition.partition) {
            let messages = (byPartition[partition.partition] ?? []).sorted { $0.offset < $1.offset }
            let target: Int64 = switch selection.from {
            case let .time(date): messages.first { ($0.timestamp ?? .distantPast) >= date }?.offset ?? end
            case .offset, .partitionOffsets: min(selection.startOffset(partition: partition.partition) ?? 0, end)
            case nil: messages.first?.offset ?? end
            }
            let current = committed[partition]
            moves[partition.partition] = (current, target)
            again += messages.filter { $0.offset >= target && $0.offset < (current ?? end) && $0.value != nil }
        }
        return Plan(stage: stage, group: group, topic: selection.topic, moves: moves, effect: ReplayEffect(again, upserts: upserts))
    }

    /// Moves the group, after checking it has no members, then reads the offsets back.
    public static func apply(_ plan: Plan, admin: KafkaAdmin) async throws {
        guard plan.forwards.isEmpty else {
            throw Refused(description: "partitions \(plan.forwards.map(String.init).joined(separator: ", ")) of \(plan.topic): the group is before the reset point; moving it forwards would skip messages, which a replay never does")
        }
        let description = try await admin.describeConsumerGroups([plan.group]).first
        if let members = description?.members, !members.isEmpty {
            let names = members.map { $0.host.isEmpty ? $0.name : "\($0.name) on \($0.host)" }
            throw Refused(description: "group \(plan.group) has \(members.count) active member\(members.count == 1 ? "" : "s") (\(names.joined(separator: ", "))): stop the \(plan.stage.rawValue) workers first, then reset")
        }
        try await admin.alterConsumerGroupOffsets(plan.group, to: plan.offsets)
        let now = try await admin.consumerGroupOffsets(plan.group, partitions: Array(plan.offsets.keys))
        guard now == plan.offsets else {
            let wrong = plan.offsets.filter { now[$0.key] != $0.value }.map { "\($0.key): \(now[$0.key].map(String.init) ?? "none") instead of \($0.value)" }
            throw NotApplied(description: "the broker accepted the reset but the group's offsets are not those set: \(wrong.sorted().joined(separator: "; "))")
        }
    }
}
