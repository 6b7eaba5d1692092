import CRdKafka
import Dispatch
import Logging

/// The Swift side of librdkafka's callbacks for one client, reached through the client's opaque.
///
/// Immutable after creation: librdkafka calls these from its own threads at any time.
final class RDKafkaClientContext: Sendable {
    let logger: Logger
    let onDeliveryReport: (@Sendable (UnsafePointer<rd_kafka_message_t>) -> Void)?
    let onRebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?
    let onError: (@Sendable (KafkaError) -> Void)?

    init(
        logger: Logger,
        onDeliveryReport: (@Sendable (UnsafePointer<rd_kafka_message_t>) -> Void)? = nil,
        onRebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)? = nil,
        onError: (@Sendable (KafkaError) -> Void)? = nil
    ) {
        self.logger = logger
        self.onDeliveryReport = onDeliveryReport
        self.onRebalance = onRebalance
        self.onError = onError
    }

    static func from(_ client: OpaquePointer?) -> RDKafkaClientContext? {
        guard let client, let opaque = rd_kafka_opaque(client) else { return nil }
        return Unmanaged<RDKafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// Owns one `rd_kafka_t` (producer or consumer) and its callback context, and frees both.
///
/// `@unchecked Sendable`: librdkafka handles are documented as thread-safe, the pointer never
/// changes after `init`, and it is destroyed exactly once, in `deinit`.
final class RDKafkaClient: @unchecked Sendable {
    let pointer: OpaquePointer
    private let context: Unmanaged<RDKafkaClientContext>

    init(
        type: rd_kafka_type_t,
        properties: [String: String],
        context: RDKafkaClientContext
    ) throws(KafkaError) {
        try Librdkafka.requireSupportedVersion()
        let config = try RDKafkaConfig(properties: properties)
        let retained = Unmanaged.passRetained(context)
        let conf = config.unsafePointer
        rd_kafka_conf_set_opaque(conf, retained.toOpaque())
        rd_kafka_conf_set_log_cb(conf) { client, level, facility, line in
            guard let context = RDKafkaClientContext.from(client), let line else { return }
            let facility = facility.map { String(cString: $0) } ?? "librdkafka"
            context.logger.log(
                level: Librdkafka.logLevel(syslogLevel: level),
                "\(String(cString: line))",
                metadata: [LogKeys.librdkafkaFacility: "\(facility)"]
            )
        }
        rd_kafka_conf_set_error_cb(conf) { client, code, reason, _ in
            guard let context = RDKafkaClientContext.from(client) else { return }
            var error = KafkaError(code: rd_kafka_resp_err_t(code), context: reason.map { String(cString: $0) })
            if rd_kafka_resp_err_t(code) == RD_KAFKA_RESP_ERR__FATAL, let client {
                var text = [CChar](repeating: 0, count: 512)
                let underlying = rd_kafka_fatal_error(client, &text, text.count)
                error = KafkaError(
                    kind: .broker,
                    message: "fatal: \(String(errorBuffer: text))",
                    code: underlying.rawValue,
                    isRetriable: false,
                    isFatal: true
                )
            }
            context.logger.log(
                level: error.isFatal ? .critical : .warning,
                "librdkafka reported an error",
                metadata: [LogKeys.kafkaError: "\(error)"]
            )
            context.onError?(error)
        }
        if context.onDeliveryReport != nil {
            rd_kafka_conf_set_dr_msg_cb(conf) { client, message, _ in
                guard let message, let context = RDKafkaClientContext.from(client) else { return }
                context.onDeliveryReport?(message)
            }
        }
        if context.onRebalance != nil {
            rd_kafka_conf_set_rebalance_cb(conf) { client, code, partitions, _ in
                guard let client, let partitions, let context = RDKafkaClientContext.from(client) else { return }
                context.onRebalance?(client, code, partitions)
            }
        }

        var errorText = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            retained.release()
            throw KafkaError(kind: .configuration, message: String(errorBuffer: errorText))
        }
        // rd_kafka_new took the configuration over.
        config.releaseOwnership()
        self.pointer = handle
        self.context = retained
    }

    deinit {
        // rd_kafka_destroy joins librdkafka's threads and can block; keep it off the caller's thread,
        // which may belong to Swift's cooperative pool.
        let handle = UncheckedSendable(pointer)
        let context = UncheckedSendable(self.context)
        RDKafkaClient.teardownQueue.async {
            rd_kafka_destroy(handle.value)
            context.value.release()
        }
    }

    static let teardownQueue = DispatchQueue(label: "billsync.kafka.teardown")

    /// The client's name as librdkafka assigned it (e.g. `billsync#consumer-1`), for logs.
    var name: String { String(cString: rd_kafka_name(pointer)) }
}

/// Moves a value that is safe to share but not declared `Sendable` (a C pointer) across a
/// concurrency boundary. Each use states why it is safe.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Process-wide housekeeping for librdkafka clients.
public enum KafkaClients {
    /// Waits until every client released so far has finished closing. Executables call it
    /// before they exit: a process that exits while librdkafka's threads are still stopping can
    /// crash in them (seen as an occasional segmentation fault at the very end of a run).
    public static func waitUntilClosed() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // A barrier behind every queued rd_kafka_destroy; waited for without blocking a pool thread.
            RDKafkaClient.teardownQueue.async { continuation.resume() }
        }
    }
}
