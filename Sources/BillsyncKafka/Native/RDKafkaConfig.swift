import CRdKafka

/// Owns one `rd_kafka_conf_t` until it is handed to `rd_kafka_new`.
///
/// librdkafka takes ownership of a configuration only when `rd_kafka_new` succeeds; on failure the
/// caller still owns it. `consume()` models that: after a successful hand-over the pointer is
/// forgotten so `deinit` does not free it twice.
final class RDKafkaConfig {
    private var pointer: OpaquePointer?

    init(properties: [String: String]) throws(KafkaError) {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(kind: .configuration, message: "rd_kafka_conf_new returned NULL")
        }
        self.pointer = conf
        // Sorted so that the first invalid property reported is the same on every run.
        for key in properties.keys.sorted() {
            try set(key, properties[key]!)
        }
    }

    deinit {
        if let pointer { rd_kafka_conf_destroy(pointer) }
    }

    func set(_ key: String, _ value: String) throws(KafkaError) {
        guard let pointer else { preconditionFailure("configuration was already handed to librdkafka") }
        var errorText = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(pointer, key, value, &errorText, errorText.count)
        guard result == RD_KAFKA_CONF_OK else {
            // The value is deliberately not echoed: it may be a password or a key.
            throw KafkaError(
                kind: .configuration,
                message: "invalid librdkafka property '\(key)': \(String(errorBuffer: errorText))"
            )
        }
    }

    /// The raw pointer, for calls that install callbacks or an opaque before `rd_kafka_new`.
    var unsafePointer: OpaquePointer {
        guard let pointer else { preconditionFailure("configuration was already handed to librdkafka") }
        return pointer
    }

    /// Marks the configuration as owned by librdkafka (after `rd_kafka_new` succeeded).
    func releaseOwnership() {
        pointer = nil
    }
}

extension String {
    /// The text librdkafka wrote into an error buffer, up to its terminating NUL.
    init(errorBuffer: [CChar]) {
        let bytes = errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self.init(decoding: bytes, as: UTF8.self)
    }
}
