/// How a producer delivers. The defaults favour never losing or duplicating a message over latency.
public struct KafkaProducerConfiguration: Sendable {
    /// How many replicas must have a message before the broker acknowledges it.
    public struct Acknowledgements: Hashable, Sendable {
        let value: String
        /// Every in-sync replica: a message acknowledged is a message that survives a broker loss.
        public static let all = Acknowledgements(value: "all")
        public static let leader = Acknowledgements(value: "1")
        public static let none = Acknowledgements(value: "0")
    }

    public struct Compression: Hashable, Sendable {
        let value: String
        public static let none = Compression(value: "none")
        public static let gzip = Compression(value: "gzip")
        public static let snappy = Compression(value: "snappy")
        public static let lz4 = Compression(value: "lz4")
        public static let zstd = Compression(value: "zstd")
    }

    public var connection: KafkaConnection
    public var acknowledgements: Acknowledgements = .all
    /// Retries never reorder or duplicate messages within a partition.
    public var idempotence = true
    /// How long to wait for more messages to fill a batch: a little latency for a lot of throughput.
    public var linger: Duration = .milliseconds(5)
    public var compression: Compression = .lz4
    /// After this long without an acknowledgement, a message's delivery report says it failed.
    public var deliveryTimeout: Duration = .seconds(120)
    /// Messages held in the producer's queue before sends wait for room.
    public var maximumQueuedMessages = 100_000
    /// Any other librdkafka producer property; wins over everything above.
    public var properties: [String: String] = [:]

    public init(connection: KafkaConnection) {
        self.connection = connection
    }

    var librdkafkaProperties: [String: String] {
        var result = connection.librdkafkaProperties
        result["acks"] = acknowledgements.value
        result["enable.idempotence"] = idempotence ? "true" : "false"
        result["linger.ms"] = linger.librdkafkaMilliseconds
        result["compression.codec"] = compression.value
        result["message.timeout.ms"] = deliveryTimeout.librdkafkaMilliseconds
        result["queue.buffering.max.messages"] = String(maximumQueuedMessages)
        result.merge(properties) { _, configured in configured }
        return result
    }
}
