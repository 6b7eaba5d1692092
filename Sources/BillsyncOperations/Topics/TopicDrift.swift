import Foundation
import BillsyncKafka
import BillsyncTopics

/// How the cluster's topics differ from the catalog: what is missing, and per existing topic
/// which of partitions, retention and compaction differ, and whether that can be fixed in
/// place (Kafka can add partitions and change configs, never remove partitions).
public struct TopicDrift: Sendable {
    public struct Difference: Sendable, Hashable {
        public enum Setting: String, Sendable {
            case partitions
            case retention = "retention.ms"
            case cleanupPolicy = "cleanup.policy"
        }

        public let topic: String
        public let setting: Setting
        public let expected: String
        public let actual: String
        /// False for a topic with more partitions than the catalog: Kafka cannot remove them.
        public let fixable: Bool
    }

    public var missing: [KafkaTopicSpecification] = []
    public var differences: [Difference] = []
    /// Topics that match the catalog.
    public var inOrder = 0

    public var isEmpty: Bool { missing.isEmpty && differences.isEmpty }

    /// Compares the catalog's topics with those that exist (their partitions and configs).
    public init(catalog: [KafkaTopicSpecification], existing: [KafkaTopicDescription], configs: [KafkaTopicConfig]) {
        let existingByName = Dictionary(existing.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let configsByName = Dictionary(configs.map { ($0.topic, $0) }, uniquingKeysWith: { first, _ in first })
        for specification in catalog {
            guard let topic = existingByName[specification.name] else {
                missing.append(specification)
                continue
            }
            var found: [Difference] = []
            let partitions = Int32(topic.partitions.count)
            if partitions != specification.partitions {
                found.append(Difference(topic: specification.name, setting: .partitions, expected: "\(specification.partitions)",
                                        actual: "\(partitions)", fixable: partitions < specification.partitions))
            }
            let config = configsByName[specification.name]
            // A policy not reported is Kafka's default, `delete`.
            let expectedPolicy = specification.configs["cleanup.policy"] ?? "delete"
            let actualPolicy = config?["cleanup.policy"] ?? "delete"
            if expectedPolicy != actualPolicy {
                found.append(Difference(topic: specification.name, setting: .cleanupPolicy, expected: expectedPolicy, actual: actualPolicy, fixable: true))
            }
            if let expectedRetention = specification.configs["retention.ms"], let config, config["retention.ms"] != expectedRetention {
                found.append(Difference(topic: specification.name, setting: .retention, expected: expectedRetention,
                                        actual: config["retention.ms"] ?? "unset", fixable: true))
            }
            if found.isEmpty { inOrder += 1 } else { differences += found }
        }
    }

    /// The config changes that bring existing topics in line.
    public var configChanges: [String: [String: String]] {
        var changes: [String: [String: String]] = [:]
        for difference in differences where difference.fixable && difference.setting != .partitions {
            changes[difference.topic, default: [:]][difference.setting.rawValue] = difference.expected
        }
        return changes
    }

    /// The partition counts to raise.
    public var partitionIncreases: [String: Int32] {
        var totals: [String: Int32] = [:]
        for difference in differences where difference.fixable && difference.setting == .partitions {
            totals[difference.topic] = Int32(difference.expected)
        }
        return totals
    }

    /// The report `topics ensure` prints.
    public var report: String {
        var table = TextTable(["topic", "setting", "catalog", "cluster", "fix"])
        for specification in missing {
            table.add([specification.name, "missing", "\(specification.partitions) partitions", "-", "create"])
        }
        for difference in differences {
            table.add([difference.topic, difference.setting.rawValue, Self.readable(difference.expected, difference.setting),
                       Self.readable(difference.actual, difference.setting), difference.fixable ? "change" : "cannot (Kafka never removes partitions)"])
        }
        return table.rendered()
    }

    static func readable(_ value: String, _ setting: Difference.Setting) -> String {
        guard setting == .retention, let milliseconds = Int64(value), milliseconds > 0 else { return value }
        let days = Double(milliseconds) / 86_400_000
        return days >= 1 ? "\(value) (\(days.formatted()) d)" : value
    }
}

extension Double {
    fileprivate func formatted() -> String {
        self == rounded() ? String(Int64(self)) : String(format: "%.2f", self)
    }
}
