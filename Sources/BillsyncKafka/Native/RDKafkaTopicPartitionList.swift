import CRdKafka

/// Owns one `rd_kafka_topic_partition_list_t` and frees it in `deinit`.
final class RDKafkaTopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(capacity: Int = 1) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(capacity, 1)))
    }

    convenience init(_ partitions: [KafkaTopicPartition], offsets: [KafkaTopicPartition: Int64] = [:]) {
        self.init(capacity: partitions.count)
        for partition in partitions {
            add(partition, offset: offsets[partition])
        }
    }

    deinit {
        rd_kafka_topic_partition_list_destroy(pointer)
    }

    func add(_ partition: KafkaTopicPartition, offset: Int64? = nil) {
        let element = rd_kafka_topic_partition_list_add(pointer, partition.topic, partition.partition)
        if let offset { element?.pointee.offset = offset }
    }

    /// The elements of a list that librdkafka owns (e.g. one passed to a rebalance callback).
    static func elements(
        of list: UnsafePointer<rd_kafka_topic_partition_list_t>
    ) -> [(partition: KafkaTopicPartition, offset: Int64, error: rd_kafka_resp_err_t)] {
        let count = Int(list.pointee.cnt)
        guard count > 0, let elements = list.pointee.elems else { return [] }
        return (0..<count).map { index in
            let element = elements[index]
            return (
                KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition),
                element.offset,
                element.err
            )
        }
    }

    var elements: [(partition: KafkaTopicPartition, offset: Int64, error: rd_kafka_resp_err_t)] {
        Self.elements(of: pointer)
    }
}
