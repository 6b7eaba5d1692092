import CRdKafka

/// An error from Kafka or from librdkafka, classified so that callers can decide between
/// retrying and giving up without parsing messages.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, coarsely. Choice values are `static let`s so new kinds do not break callers.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        /// An invalid property or an unusable combination of settings. Fix the configuration.
        public static let configuration = Kind(name: "configuration")
        /// The broker or librdkafka answered with an error code (see `code`).
        public static let broker = Kind(name: "broker")
        /// A produced message was not acknowledged (see `code` for why).
        public static let delivery = Kind(name: "delivery")
        /// The client was shut down or never started.
        public static let shutdown = Kind(name: "shutdown")
        /// librdkafka's loaded version cannot be used.
        public static let unsupportedLibrary = Kind(name: "unsupported-library")
        public var description: String { name }
    }

    public let kind: Kind
    /// librdkafka's error code (`rd_kafka_resp_err_t`); 0 when the error did not come from a code.
    public let code: Int32
    /// librdkafka's symbolic name for `code`, such as `_TRANSPORT` or `UNKNOWN_TOPIC_OR_PART`.
    public let codeName: String
    public let message: String
    /// Trying again later may succeed (a broker was down, a leader moved, a request timed out).
    public let isRetriable: Bool
    /// The client is unusable and must be recreated (e.g. the idempotent producer lost its state).
    public let isFatal: Bool

    public init(
        kind: Kind,
        message: String,
        code: Int32 = 0,
        isRetriable: Bool = false,
        isFatal: Bool = false
    ) {
        self.kind = kind
        self.code = code
        self.codeName = code == 0 ? "" : String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(code)))
        self.message = message
        self.isRetriable = isRetriable
        self.isFatal = isFatal
    }

    /// An error from a librdkafka code, classified by `KafkaErrorClassification`.
    init(kind: Kind = .broker, code: rd_kafka_resp_err_t, context: String? = nil) {
        let reason = String(cString: rd_kafka_err2str(code))
        self.init(
            kind: kind,
            message: context.map { "\($0): \(reason)" } ?? reason,
            code: code.rawValue,
            isRetriable: KafkaErrorClassification.isRetriable(code),
            isFatal: KafkaErrorClassification.isFatal(code)
        )
    }

    /// Takes over an `rd_kafka_error_t` (and destroys it), which carries its own classification.
    init(kind: Kind = .broker, consuming error: OpaquePointer, context: String? = nil) {
        defer { rd_kafka_error_destroy(error) }
        let code = rd_kafka_error_code(error)
        let reason = String(cString: rd_kafka_error_string(error))
        self.init(
            kind: kind,
            message: context.map { "\($0): \(reason)" } ?? reason,
            code: code.rawValue,
            isRetriable: rd_kafka_error_is_retriable(error) != 0 || KafkaErrorClassification.isRetriable(code),
            isFatal: rd_kafka_error_is_fatal(error) != 0 || KafkaErrorClassification.isFatal(code)
        )
    }

    public var description: String {
        let label = isFatal ? "fatal" : (isRetriable ? "retriable" : "permanent")
        let name = codeName.isEmpty ? "" : " \(codeName)"
        return "Kafka \(kind) error\(name) (\(label)): \(message)"
    }
}

/// Which librdkafka codes are worth retrying and which leave the client unusable.
///
/// librdkafka marks retriability only on `rd_kafka_error_t`; plain codes from delivery reports,
/// partition lists and callbacks need this table. Codes not listed are permanent: the request
/// will fail the same way again (bad topic name, authorization, message too large, ...).
public enum KafkaErrorClassification {
    static let retriableCodes: Set<rd_kafka_resp_err_t> = [
        RD_KAFKA_RESP_ERR__TRANSPORT,
        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
        RD_KAFKA_RESP_ERR__TIMED_OUT,
        RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
        RD_KAFKA_RESP_ERR__QUEUE_FULL,
        RD_KAFKA_RESP_ERR__RESOLVE,
        RD_KAFKA_RESP_ERR__WAIT_COORD,
        RD_KAFKA_RESP_ERR__PARTITION_EOF,
        RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
        RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS,
        RD_KAFKA_RESP_ERR__IN_PROGRESS,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
        RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
        RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR,
        RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND,
        RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED,
        RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT,
        RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH,
        RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH,
    ]

    static let fatalCodes: Set<rd_kafka_resp_err_t> = [
        RD_KAFKA_RESP_ERR__FATAL,
        RD_KAFKA_RESP_ERR__AUTHENTICATION,
        RD_KAFKA_RESP_ERR__INVALID_ARG,
        RD_KAFKA_RESP_ERR__SSL,
        RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
        RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH,
        RD_KAFKA_RESP_ERR_PRODUCER_FENCED,
        RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM,
        RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE,
    ]

    public static func isRetriable(code: Int32) -> Bool { isRetriable(rd_kafka_resp_err_t(code)) }
    public static func isFatal(code: Int32) -> Bool { isFatal(rd_kafka_resp_err_t(code)) }

    static func isRetriable(_ code: rd_kafka_resp_err_t) -> Bool { retriableCodes.contains(code) }
    static func isFatal(_ code: rd_kafka_resp_err_t) -> Bool { fatalCodes.contains(code) }
}
