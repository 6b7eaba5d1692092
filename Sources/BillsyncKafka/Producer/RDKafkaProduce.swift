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
                    var fields: [rd_kafka_vu_t] = []
                    fields.reserveCapacity(7)
                    var field = rd_kafka_vu_t()
                    field.vtype = RD_KAFKA_VTYPE_TOPIC
                    field.u.cstr = topic
                    fields.append(field)
                    field = rd_kafka_vu_t()
                    field.vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    field.u.i = RD_KAFKA_MSG_F_COPY
                    fields.append(field)
                    if let partition = message.partition {
                        field = rd_kafka_vu_t()
                        field.vtype = RD_KAFKA_VTYPE_PARTITION
                        field.u.i32 = partition
                        fields.append(field)
                    }
                    if let key {
                        field = rd_kafka_vu_t()
                        field.vtype = RD_KAFKA_VTYPE_KEY
                        field.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress ?? UnsafeRawPointer(emptyBytes))
                        field.u.mem.size = key.count
                        fields.append(field)
                    }
                    if let value {
                        field = rd_kafka_vu_t()
                        field.vtype = RD_KAFKA_VTYPE_VALUE
                        field.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress ?? UnsafeRawPointer(emptyBytes))
                        field.u.mem.size = value.count
                        fields.append(field)
                    }
                    if let headers {
                        field = rd_kafka_vu_t()
                        field.vtype = RD_KAFKA_VTYPE_HEADERS
                        field.u.headers = headers
                        fields.append(field)
                    }
                    if opaque != 0 {
                        field = rd_kafka_vu_t()
                        field.vtype = RD_KAFKA_VTYPE_OPAQUE
                        field.u.ptr = UnsafeMutableRawPointer(bitPattern: opaque)
                        fields.append(field)
                    }
                    return fields.withUnsafeBufferPointer { rd_kafka_produceva(client, $0.baseAddress, $0.count) }
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
