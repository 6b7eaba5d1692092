import BillsyncBlocking
import CRdKafka
import Foundation

/// Blocking read-only requests that any client handle can make; each runs through `BlockingWork`.
enum RDKafkaQueries {
    static func committedOffsets(
        _ client: RDKafkaClient,
        partitions: [KafkaTopicPartition],
        timeout: Duration
    ) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let milliseconds = Int32(clamping: timeout.milliseconds)
        return try await BlockingWork.run { () throws(KafkaError) in
            let list = RDKafkaTopicPartitionList(partitions)
            let result = rd_kafka_committed(client.pointer, list.pointer, milliseconds)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(code: result, context: "reading committed offsets failed")
            }
            return try offsetsByPartition(list, action: "reading committed offsets")
        }
    }

    static func cachedWatermarks(_ client: RDKafkaClient, partition: KafkaTopicPartition) -> KafkaWatermarks? {
        var low: Int64 = -1
        var high: Int64 = -1
        let result = rd_kafka_get_watermark_offsets(client.pointer, partition.topic, partition.partition, &low, &high)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return KafkaWatermarks(low: max(low, 0), high: high)
    }

    static func queryWatermarks(
        _ client: RDKafkaClient,
        partition: KafkaTopicPartition,
        timeout: Duration
    ) async throws(KafkaError) -> KafkaWatermarks {
        let milliseconds = Int32(clamping: timeout.milliseconds)
        return try await BlockingWork.run { () throws(KafkaError) in
            var low: Int64 = -1
            var high: Int64 = -1
            let result = rd_kafka_query_watermark_offsets(
                client.pointer, partition.topic, partition.partition, &low, &high, milliseconds
            )
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(code: result, context: "querying watermarks of \(partition) failed")
            }
            return KafkaWatermarks(low: low, high: high)
        }
    }

    static func offsets(
        _ client: RDKafkaClient,
        forTimestamp timestamp: Date,
        in partitions: [KafkaTopicPartition],
        timeout: Duration
    ) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let milliseconds = Int32(clamping: timeout.milliseconds)
        let stamp = Int64((timestamp.timeIntervalSince1970 * 1000).rounded(.down))
        return try await BlockingWork.run { () throws(KafkaError) in
            let list = RDKafkaTopicPartitionList(partitions, offsets: Dictionary(uniqueKeysWithValues: partitions.map { ($0, stamp) }))
            let result = rd_kafka_offsets_for_times(client.pointer, list.pointer, milliseconds)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(code: result, context: "looking up offsets for a timestamp failed")
            }
            return try offsetsByPartition(list, action: "looking up offsets for a timestamp")
        }
    }

    private static func offsetsByPartition(
        _ list: RDKafkaTopicPartitionList,
        action: String
    ) throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for element in list.elements {
            guard element.error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(code: element.error, context: "\(action) for \(element.partition) failed")
            }
            offsets[element.partition] = element.offset
        }
        return offsets
    }
}
