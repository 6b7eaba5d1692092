import CRdKafka
import Foundation

/// A message read from Kafka. Key and value may be absent (a tombstone has no value).
public struct KafkaConsumerMessage: Sendable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    public let key: [UInt8]?
    public let value: [UInt8]?
    public let headers: [KafkaHeader]
    /// When the producer (or, for log-append-time topics, the broker) stamped the message.
    public let timestamp: Date?

    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        timestamp: Date? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }
    public var isTombstone: Bool { value == nil }
    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
    public var valueString: String? { value.map { String(decoding: $0, as: UTF8.self) } }

    /// Copies everything out of a librdkafka message, which the caller still owns and destroys.
    /// - Parameter topicName: the topic's name if the caller already knows it (saves a copy per message).
    init(copying message: UnsafePointer<rd_kafka_message_t>, topicName: String? = nil) {
        let raw = message.pointee
        topic = topicName ?? raw.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        partition = raw.partition
        offset = raw.offset
        key = raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }
        value = raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(message, &timestampType)
        timestamp = timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            ? nil
            : Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        headers = Self.copyHeaders(of: message)
    }

    private static func copyHeaders(of message: UnsafePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var headers: OpaquePointer?
        // The headers stay owned by the message.
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else {
            return []
        }
        var result: [KafkaHeader] = []
        var index = 0
        while true {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            guard rd_kafka_header_get_all(headers, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  let name
            else { break }
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            result.append(KafkaHeader(name: String(cString: name), value: bytes))
            index += 1
        }
        return result
    }
}

extension Collection where Element == KafkaConsumerMessage {
    /// The messages cut into runs of one partition, in order. A fetched batch comes that way, so
    /// bookkeeping per partition is done once per run instead of hashing a partition per message.
    /// Inlinable, so that a caller in another module gets a copy specialized to its collection.
    @inlinable
    public func partitionRuns() -> [(partition: KafkaTopicPartition, messages: SubSequence)] {
        var runs: [(partition: KafkaTopicPartition, messages: SubSequence)] = []
        var start = startIndex
        while start != endIndex {
            let first = self[start]
            var end = index(after: start)
            while end != endIndex, self[end].partition == first.partition, self[end].topic == first.topic { end = index(after: end) }
            runs.append((first.topicPartition, self[start..<end]))
            start = end
        }
        return runs
    }
}
