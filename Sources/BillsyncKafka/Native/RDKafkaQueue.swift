import CRdKafka

/// Owns a reference to one of a client's `rd_kafka_queue_t`s and releases it; keeps the
/// client alive for as long as the queue is used.
final class RDKafkaQueue: @unchecked Sendable {
    // @unchecked: librdkafka queues are thread-safe and the pointer never changes.
    let pointer: OpaquePointer
    private let client: RDKafkaClient

    /// The queue a consumer's messages and (after `rd_kafka_poll_set_consumer`) its events arrive on.
    init(consumerQueueOf client: RDKafkaClient) {
        self.client = client
        self.pointer = rd_kafka_queue_get_consumer(client.pointer)
    }

    deinit {
        rd_kafka_queue_destroy(pointer)
    }
}
