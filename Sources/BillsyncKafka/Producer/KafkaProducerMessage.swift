/// A message to produce. A `nil` value is a tombstone (deletes the key in a compacted topic).
public struct KafkaProducerMessage: Sendable {
    public var topic: String
    /// A fixed partition, or nil to let the key decide (one key always lands in one partition).
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]

    public init(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]? = nil,
        value: [UInt8]?,
        headers: [KafkaHeader] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }

    public init(topic: String, key: String?, value: String?, headers: [KafkaHeader] = []) {
        self.init(topic: topic, key: key.map { Array($0.utf8) }, value: value.map { Array($0.utf8) }, headers: headers)
    }
}

/// The broker's answer for one produced message.
public struct KafkaDeliveryReport: Sendable {
    public let topic: String
    public let partition: Int32
    /// The offset the message got, or `KafkaOffset.invalid` when delivery failed.
    public let offset: Int64
    public let key: [UInt8]?
    /// Why the message was not delivered; nil when it was.
    public let error: KafkaError?

    public var isDelivered: Bool { error == nil }
}

/// Running totals of what a producer was asked to send and what the broker confirmed.
public struct KafkaProducerCounters: Sendable, Equatable {
    public var enqueued = 0
    public var delivered = 0
    public var failed = 0

    public init(enqueued: Int = 0, delivered: Int = 0, failed: Int = 0) {
        self.enqueued = enqueued
        self.delivered = delivered
        self.failed = failed
    }

    /// Messages enqueued whose delivery report has not arrived yet.
    public var inFlight: Int { enqueued - delivered - failed }
}
