/// A topic to create: its partitions and its topic-level configuration.
public struct KafkaTopicSpecification: Sendable, Hashable {
    public var name: String
    public var partitions: Int32
    /// -1 lets the broker decide (its `default.replication.factor`).
    public var replicationFactor: Int32
    /// Topic configs such as `retention.ms` or `cleanup.policy`.
    public var configs: [String: String]

    public init(name: String, partitions: Int32, replicationFactor: Int32 = -1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }

    /// Keeps the latest value per key forever: for checkpoints and change-suppression state.
    public static func compacted(name: String, partitions: Int32) -> KafkaTopicSpecification {
        KafkaTopicSpecification(name: name, partitions: partitions, configs: ["cleanup.policy": "compact"])
    }

    /// Deletes messages older than `retention`.
    public static func retained(name: String, partitions: Int32, for retention: Duration) -> KafkaTopicSpecification {
        KafkaTopicSpecification(name: name, partitions: partitions, configs: ["retention.ms": retention.librdkafkaMilliseconds])
    }
}

/// A topic as the cluster's metadata describes it.
public struct KafkaTopicDescription: Sendable, Hashable {
    public struct Partition: Sendable, Hashable {
        public let id: Int32
        public let leader: Int32
        public let replicas: [Int32]
    }

    public let name: String
    public let partitions: [Partition]
}
