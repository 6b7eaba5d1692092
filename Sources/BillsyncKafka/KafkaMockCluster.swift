import CRdKafka
import Logging

/// librdkafka's in-process mock Kafka cluster, for tests of what a real broker cannot be made
/// to do on demand: a broker going down, a request failing with a chosen error.
///
/// It listens on loopback ports, so any client (in this process or another) can bootstrap from
/// `bootstrapServers`. It lives as long as this object. Known limits: only a few MiB retained per
/// partition, no offsets-for-times, CreateTopics/DeleteTopics time out (use `createTopic`).
public final class KafkaMockCluster: Sendable {
    /// Kafka protocol API keys, for injecting errors into one kind of request.
    public struct RequestKind: Hashable, Sendable {
        public let apiKey: Int16
        public static let produce = RequestKind(apiKey: 0)
        public static let fetch = RequestKind(apiKey: 1)
        public static let listOffsets = RequestKind(apiKey: 2)
        public static let metadata = RequestKind(apiKey: 3)
        public static let offsetCommit = RequestKind(apiKey: 8)
        public static let offsetFetch = RequestKind(apiKey: 9)
        public static let findCoordinator = RequestKind(apiKey: 10)
        public static let joinGroup = RequestKind(apiKey: 11)
        public static let heartbeat = RequestKind(apiKey: 12)
        public static let initProducerID = RequestKind(apiKey: 22)
    }

    private let owner: RDKafkaClient
    /// Owned by `owner`'s handle; valid as long as it is.
    private let cluster: UncheckedSendable<OpaquePointer>

    public init(brokers: Int = 1, logger: Logger) throws(KafkaError) {
        owner = try RDKafkaClient(
            type: RD_KAFKA_PRODUCER,
            properties: ["test.mock.num.brokers": String(brokers)],
            context: RDKafkaClientContext(logger: logger)
        )
        guard let cluster = rd_kafka_handle_mock_cluster(owner.pointer) else {
            throw KafkaError(kind: .configuration, message: "librdkafka did not create a mock cluster")
        }
        self.cluster = UncheckedSendable(cluster)
        rd_kafka_mock_group_initial_rebalance_delay_ms(cluster, 0)
    }

    /// The `host:port` list to give clients as `bootstrap.servers`.
    public var bootstrapServers: [String] {
        String(cString: rd_kafka_mock_cluster_bootstraps(cluster.value)).split(separator: ",").map(String.init)
    }

    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws(KafkaError) {
        let result = rd_kafka_mock_topic_create(cluster.value, name, partitions, replicationFactor)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: result, context: "mock topic \(name)") }
    }

    /// Makes the next `codes.count` requests of this kind fail with these Kafka error codes, in order.
    public func failNextRequests(_ kind: RequestKind, withCodes codes: [Int32]) {
        var errors = codes.map { rd_kafka_resp_err_t($0) }
        errors.withUnsafeMutableBufferPointer {
            rd_kafka_mock_push_request_errors_array(cluster.value, kind.apiKey, $0.count, $0.baseAddress)
        }
    }

    public func setBrokerDown(_ brokerID: Int32) {
        _ = rd_kafka_mock_broker_set_down(cluster.value, brokerID)
    }

    public func setBrokerUp(_ brokerID: Int32) {
        _ = rd_kafka_mock_broker_set_up(cluster.value, brokerID)
    }
}

/// Kafka protocol error codes used when injecting failures.
public enum KafkaErrorCode {
    public static let notLeaderForPartition: Int32 = 6
    public static let requestTimedOut: Int32 = 7
    public static let notEnoughReplicas: Int32 = 19
    public static let topicAuthorizationFailed: Int32 = 29
    public static let messageTooLarge: Int32 = 10
    public static let invalidRecord: Int32 = 87
}
