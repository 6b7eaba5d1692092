import BillsyncBlocking
import CRdKafka
import Logging

/// Creates, deletes and describes topics.
public final class KafkaAdmin: Sendable {
    let client: RDKafkaClient

    public init(connection: KafkaConnection, logger: Logger) throws(KafkaError) {
        client = try RDKafkaClient(
            type: RD_KAFKA_PRODUCER,
            properties: connection.librdkafkaProperties,
            context: RDKafkaClientContext(logger: logger)
        )
    }

    /// Creates topics. With `ignoringExisting`, a topic that already exists is not an error
    /// (its partitions and configs are left as they are).
    public func createTopics(
        _ topics: [KafkaTopicSpecification],
        ignoringExisting: Bool = true,
        timeout: Duration = .seconds(30)
    ) async throws(KafkaError) {
        guard !topics.isEmpty else { return }
        let client = self.client
        try await BlockingWork.run { () throws(KafkaError) in
            var newTopics: [OpaquePointer?] = []
            defer { newTopics.withUnsafeMutableBufferPointer { rd_kafka_NewTopic_destroy_array($0.baseAddress, $0.count) } }
            for topic in topics {
                var errorText = [CChar](repeating: 0, count: 512)
                guard let newTopic = rd_kafka_NewTopic_new(
                    topic.name, topic.partitions, topic.replicationFactor, &errorText, errorText.count
                ) else {
                    throw KafkaError(kind: .configuration, message: "topic \(topic.name): \(String(errorBuffer: errorText))")
                }
                newTopics.append(newTopic)
                for (key, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                    let result = rd_kafka_NewTopic_set_config(newTopic, key, value)
                    guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                        throw KafkaError(code: result, context: "topic \(topic.name) config \(key)")
                    }
                }
            }
            let results = try AdminRequest.run(client, operation: RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout: timeout) { options, queue in
                newTopics.withUnsafeMutableBufferPointer {
                    rd_kafka_CreateTopics(client.pointer, $0.baseAddress, $0.count, options, queue)
                }
            } results: { event in
                var count = 0
                let topics = rd_kafka_event_CreateTopics_result(event).flatMap { rd_kafka_CreateTopics_result_topics($0, &count) }
                return AdminRequest.topicResults(topics, count: count)
            }
            for result in results where result.code != RD_KAFKA_RESP_ERR_NO_ERROR {
                if ignoringExisting, result.code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS { continue }
                throw KafkaError(code: result.code, context: "creating topic \(result.name) failed: \(result.message)")
            }
        }
    }

    /// Deletes topics. With `ignoringMissing`, a topic that does not exist is not an error.
    public func deleteTopics(
        _ names: [String],
        ignoringMissing: Bool = true,
        timeout: Duration = .seconds(30)
    ) async throws(KafkaError) {
        guard !names.isEmpty else { return }
        let client = self.client
        try await BlockingWork.run { () throws(KafkaError) in
            var deletions: [OpaquePointer?] = names.map { rd_kafka_DeleteTopic_new($0) }
            defer { deletions.withUnsafeMutableBufferPointer { rd_kafka_DeleteTopic_destroy_array($0.baseAddress, $0.count) } }
            let results = try AdminRequest.run(client, operation: RD_KAFKA_ADMIN_OP_DELETETOPICS, timeout: timeout) { options, queue in
                deletions.withUnsafeMutableBufferPointer {
                    rd_kafka_DeleteTopics(client.pointer, $0.baseAddress, $0.count, options, queue)
                }
            } results: { event in
                var count = 0
                let topics = rd_kafka_event_DeleteTopics_result(event).flatMap { rd_kafka_DeleteTopics_result_topics($0, &count) }
                return AdminRequest.topicResults(topics, count: count)
            }
            for result in results where result.code != RD_KAFKA_RESP_ERR_NO_ERROR {
                if ignoringMissing, result.code == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART { continue }
                throw KafkaError(code: result.code, context: "deleting topic \(result.name) failed: \(result.message)")
            }
        }
    }

    /// Every topic in the cluster with its partitions, from the cluster's metadata.
    public func listTopics(timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaTopicDescription] {
        let client = self.client
        let milliseconds = Int32(clamping: timeout.milliseconds)
        return try await BlockingWork.run { () throws(KafkaError) in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let result = rd_kafka_metadata(client.pointer, 1, nil, &metadata, milliseconds)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                throw KafkaError(code: result, context: "reading cluster metadata failed")
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            let topics = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
            return topics.filter { $0.err == RD_KAFKA_RESP_ERR_NO_ERROR }.map { topic in
                let partitions = UnsafeBufferPointer(start: topic.partitions, count: Int(topic.partition_cnt))
                return KafkaTopicDescription(
                    name: String(cString: topic.topic),
                    partitions: partitions.map { partition in
                        KafkaTopicDescription.Partition(
                            id: partition.id,
                            leader: partition.leader,
                            replicas: Array(UnsafeBufferPointer(start: partition.replicas, count: Int(partition.replica_cnt)))
                        )
                    }.sorted { $0.id < $1.id }
                )
            }.sorted { $0.name < $1.name }
        }
    }

    /// One topic's description, or nil when it does not exist.
    public func describeTopic(_ name: String, timeout: Duration = .seconds(10)) async throws(KafkaError) -> KafkaTopicDescription? {
        try await listTopics(timeout: timeout).first { $0.name == name }
    }
}
