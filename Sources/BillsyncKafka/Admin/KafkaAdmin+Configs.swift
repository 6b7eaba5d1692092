import BillsyncBlocking
import CRdKafka

/// A topic's configuration as the broker reports it, with where each value came from.
public struct KafkaTopicConfig: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public let value: String?
        /// Set on the topic itself, rather than inherited from the broker's defaults.
        public let isTopicOverride: Bool
    }

    public let topic: String
    public let entries: [String: Entry]

    public subscript(name: String) -> String? { entries[name]?.value }
}

extension KafkaAdmin {
    /// The configuration of each named topic (DescribeConfigs).
    public func describeConfigs(ofTopics topics: [String], timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaTopicConfig] {
        guard !topics.isEmpty else { return [] }
        let client = self.client
        return try await BlockingWork.run { () throws(KafkaError) in
            var resources: [OpaquePointer?] = topics.map { rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, $0) }
            defer { resources.withUnsafeMutableBufferPointer { rd_kafka_ConfigResource_destroy_array($0.baseAddress, $0.count) } }
            let described = try AdminRequest.run(client, operation: RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout: timeout) { options, queue in
                resources.withUnsafeMutableBufferPointer { rd_kafka_DescribeConfigs(client.pointer, $0.baseAddress, $0.count, options, queue) }
            } results: { event -> Result<[KafkaTopicConfig], KafkaError> in
                var count = 0
                guard let result = rd_kafka_event_DescribeConfigs_result(event),
                      let resources = rd_kafka_DescribeConfigs_result_resources(result, &count) else { return .success([]) }
                var configs: [KafkaTopicConfig] = []
                for index in 0..<count {
                    guard let resource = resources[index] else { continue }
                    let name = String(cString: rd_kafka_ConfigResource_name(resource))
                    let code = rd_kafka_ConfigResource_error(resource)
                    guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                        let reason = rd_kafka_ConfigResource_error_string(resource).map { String(cString: $0) } ?? ""
                        return .failure(KafkaError(code: code, context: "describing topic \(name) failed: \(reason)"))
                    }
                    var entryCount = 0
                    var entries: [String: KafkaTopicConfig.Entry] = [:]
                    if let list = rd_kafka_ConfigResource_configs(resource, &entryCount) {
                        for entryIndex in 0..<entryCount {
                            guard let entry = list[entryIndex] else { continue }
                            entries[String(cString: rd_kafka_ConfigEntry_name(entry))] = KafkaTopicConfig.Entry(
                                value: rd_kafka_ConfigEntry_value(entry).map { String(cString: $0) },
                                isTopicOverride: rd_kafka_ConfigEntry_source(entry) == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG
                            )
                        }
                    }
                    configs.append(KafkaTopicConfig(topic: name, entries: entries))
                }
                return .success(configs)
            }
            return try described.get()
        }
    }

    /// Sets topic configs, leaving the others as they are (IncrementalAlterConfigs).
    public func setConfigs(_ changes: [String: [String: String]], timeout: Duration = .seconds(30)) async throws(KafkaError) {
        guard !changes.isEmpty else { return }
        let client = self.client
        try await BlockingWork.run { () throws(KafkaError) in
            var resources: [OpaquePointer?] = []
            defer { resources.withUnsafeMutableBufferPointer { rd_kafka_ConfigResource_destroy_array($0.baseAddress, $0.count) } }
            for (topic, configs) in changes.sorted(by: { $0.key < $1.key }) {
                let resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic)
                resources.append(resource)
                for (name, value) in configs.sorted(by: { $0.key < $1.key }) {
                    if let error = rd_kafka_ConfigResource_add_incremental_config(resource, name, RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET, value) {
                        throw KafkaError(kind: .configuration, consuming: error, context: "topic \(topic) config \(name)")
                    }
                }
            }
            let failures = try AdminRequest.run(client, operation: RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS, timeout: timeout) { options, queue in
                resources.withUnsafeMutableBufferPointer { rd_kafka_IncrementalAlterConfigs(client.pointer, $0.baseAddress, $0.count, options, queue) }
            } results: { event -> [String] in
                var count = 0
                guard let result = rd_kafka_event_IncrementalAlterConfigs_result(event),
                      let resources = rd_kafka_IncrementalAlterConfigs_result_resources(result, &count) else { return [] }
                return (0..<count).compactMap { index -> String? in
                    guard let resource = resources[index], rd_kafka_ConfigResource_error(resource) != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
                    let reason = rd_kafka_ConfigResource_error_string(resource).map { String(cString: $0) } ?? "\(rd_kafka_ConfigResource_error(resource))"
                    return "\(String(cString: rd_kafka_ConfigResource_name(resource))): \(reason)"
                }
            }
            guard failures.isEmpty else {
                throw KafkaError(kind: .configuration, message: "changing topic configs failed: \(failures.joined(separator: "; "))")
            }
        }
    }

    /// Raises topics' partition counts (CreatePartitions). Kafka cannot lower them.
    public func createPartitions(_ totals: [String: Int32], timeout: Duration = .seconds(30)) async throws(KafkaError) {
        guard !totals.isEmpty else { return }
        let client = self.client
        try await BlockingWork.run { () throws(KafkaError) in
            var requests: [OpaquePointer?] = []
            defer { requests.withUnsafeMutableBufferPointer { rd_kafka_NewPartitions_destroy_array($0.baseAddress, $0.count) } }
            for (topic, total) in totals.sorted(by: { $0.key < $1.key }) {
                var errorText = [CChar](repeating: 0, count: 512)
                guard let request = rd_kafka_NewPartitions_new(topic, Int(total), &errorText, errorText.count) else {
                    throw KafkaError(kind: .configuration, message: "topic \(topic): \(String(errorBuffer: errorText))")
                }
                requests.append(request)
            }
            let results = try AdminRequest.run(client, operation: RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, timeout: timeout) { options, queue in
                requests.withUnsafeMutableBufferPointer { rd_kafka_CreatePartitions(client.pointer, $0.baseAddress, $0.count, options, queue) }
            } results: { event in
                var count = 0
                let topics = rd_kafka_event_CreatePartitions_result(event).flatMap { rd_kafka_CreatePartitions_result_topics($0, &count) }
                return AdminRequest.topicResults(topics, count: count)
            }
            for result in results where result.code != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError(code: result.code, context: "adding partitions to \(result.name) failed: \(result.message)")
            }
        }
    }
}
