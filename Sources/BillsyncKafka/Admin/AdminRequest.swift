import CRdKafka

/// Runs one librdkafka admin request and waits for its result event, on the calling
/// (blocking-calls) thread. Owns the temporary queue, options and event it creates.
enum AdminRequest {
    struct TopicResult {
        let name: String
        let code: rd_kafka_resp_err_t
        let message: String
    }

    static func run<Result>(
        _ client: RDKafkaClient,
        operation: rd_kafka_admin_op_t,
        timeout: Duration,
        request: (OpaquePointer?, OpaquePointer?) -> Void,
        results: (OpaquePointer) -> Result
    ) throws(KafkaError) -> Result {
        let queue = rd_kafka_queue_new(client.pointer)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(client.pointer, operation)
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errorText = [CChar](repeating: 0, count: 512)
        let milliseconds = Int32(clamping: timeout.milliseconds)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, &errorText, errorText.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, milliseconds, &errorText, errorText.count)
        request(options, queue)
        // The result arrives within the request timeout; the margin covers queueing.
        guard let event = rd_kafka_queue_poll(queue, milliseconds + 5_000) else {
            throw KafkaError(code: RD_KAFKA_RESP_ERR__TIMED_OUT, context: "admin request got no answer")
        }
        defer { rd_kafka_event_destroy(event) }
        let code = rd_kafka_event_error(event)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let reason = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
            throw KafkaError(code: code, context: "admin request failed: \(reason)")
        }
        return results(event)
    }

    static func topicResults(_ topics: UnsafeMutablePointer<OpaquePointer?>?, count: Int) -> [TopicResult] {
        guard let topics else { return [] }
        return (0..<count).compactMap { index in
            guard let topic = topics[index] else { return nil }
            return TopicResult(
                name: String(cString: rd_kafka_topic_result_name(topic)),
                code: rd_kafka_topic_result_error(topic),
                message: rd_kafka_topic_result_error_string(topic).map { String(cString: $0) } ?? ""
            )
        }
    }
}
