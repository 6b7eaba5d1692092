/// One partition of one topic.
public struct KafkaTopicPartition: Hashable, Sendable, CustomStringConvertible {
    public let topic: String
    public let partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// The oldest and the next offset of a partition. `high - low` messages are retained.
public struct KafkaWatermarks: Hashable, Sendable {
    public let low: Int64
    /// The offset the next produced message will get: a consumer's lag is `high - committed`.
    public let high: Int64

    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
}

/// Special offsets understood by librdkafka where an absolute offset is expected.
public enum KafkaOffset {
    public static let beginning: Int64 = -2
    public static let end: Int64 = -1
    public static let stored: Int64 = -1000
    public static let invalid: Int64 = -1001
}
