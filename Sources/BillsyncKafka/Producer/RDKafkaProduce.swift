import CRdKafka

/// The one place that builds a librdkafka message: topic, partition, key, value, headers, opaque.
enum RDKafkaProduce {
    enum Outcome {
        case queued
        case queueFull
        case failed(KafkaError)
    }

    /// A non-NULL pointer for empty keys and values: librdkafka reads NULL as "no value"
    /// (a tombstone), which is not the same as an empty one.
    /// Never written to and never freed, so sharing it between threads is safe.
    nonisolated(unsafe) private static let emptyBytes = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    static func produce(_ message: KafkaProducerMessage, opaque: UInt, on client: OpaquePointer) -> Outcome {
        var headers: OpaquePointer? = nil
        if !message.headers.isEmpty {
            headers = rd_kafka_headers_new(message.headers.count)
            for header in message.headers {
                if let value = header.value {
                    value.withUnsafeBytes { bytes in
                        _ = rd_kafka_header_add(headers, header.name, -1, bytes.baseAddress ?? UnsafeRawPointer(emptyBytes), bytes.count)
                    }
                } else {
                    _ = rd_kafka_header_add(headers, header.name, -1, nil, 0)
                }
            }
        }
        let error: OpaquePointer? = message.topic.withCString { topic in
            withOptionalBytes(message.key) { key in
                withOptionalBytes(message.value) { value in
                    // At most seven fields; on the stack, as this runs once per message.
                    withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 7) { fields in
                        var count = 0
                        func append(_ type: rd_kafka_vtype_t, _ fill: (inout rd_kafka_vu_t) -> Void) {
                            var field = rd_kafka_vu_t()
                            field.vtype = type
                            fill(&field)
                            fields.initializeElement(at: count, to: field)
                            count += 1
                        }
                        append(RD_KAFKA_VTYPE_TOPIC) { $0.u.cstr = topic }
                        append(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY }
                        if let partition = message.partition {
                            append(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = partition }
                        }
                        if let key {
                            append(RD_KAFKA_VTYPE_KEY) {
                                $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress ?? UnsafeRawPointer(emptyBytes))
                                $0.u.mem.size = key.count
                            }
                        }
                        if let value {
                            append(RD_KAFKA_VTYPE_VALUE) {
                                $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress ?? UnsafeRawPointer(emptyBytes))
                                $0.u.mem.size = value.count
                            }
                        }
                        if let headers {
                            append(RD_KAFKA_VTYPE_HEADERS) { $0.u.headers = headers }
                        }
                        if opaque != 0 {
                            append(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = UnsafeMutableRawPointer(bitPattern: opaque) }
                        }
                        return rd_kafka_produceva(client, fields.baseAddress, count)
                    }
                }
            }
        }
        guard let error else { return .queued }
        // On failure the headers were not taken over.
        if let headers { rd_kafka_headers_destroy(headers) }
        if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
            rd_kafka_error_destroy(error)
            return .queueFull
        }
        return .failed(KafkaError(consuming: error, context: "could not queue a message for \(message.topic)"))
    }

    private static func withOptionalBytes<Result>(
        _ bytes: [UInt8]?,
        _ body: (UnsafeRawBufferPointer?) -> Result
    ) -> Result {
        guard let bytes else { return body(nil) }
        return bytes.withUnsafeBytes { body($0) }
    }
}
