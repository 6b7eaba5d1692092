#if canImport(Glibc)
import BillsyncBlocking
import Glibc
#endif
import CRdKafka

/// A consumer group as its coordinator describes it: who is in it and what each member reads.
public struct KafkaConsumerGroupDescription: Sendable, Hashable {
    public struct Member: Sendable, Hashable {
        public let memberID: String
        public let clientID: String
        public let host: String
        public let assignment: [KafkaTopicPartition]

        /// The client id, or (from a broker that leaves it out) the member id, which Kafka
        /// makes from the client id.
        public var name: String { clientID.isEmpty ? memberID : clientID }
    }

    public let group: String
    /// `Stable`, `Empty`, `Dead`, `PreparingRebalance`, … as librdkafka names it.
    public let state: String
    public let members: [Member]

    /// No member is in the group: its offsets may be changed.
    public var isInactive: Bool { members.isEmpty }
}

extension KafkaAdmin {
    /// Describes consumer groups (DescribeGroups). A group nobody ever joined is described as
    /// `Dead` with no members.
    public func describeConsumerGroups(_ groups: [String], timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaConsumerGroupDescription] {
        guard !groups.isEmpty else { return [] }
        let client = self.client
        return try await BlockingWork.run { () throws(KafkaError) in
            let names = groups.map { strdup($0) }
            defer { names.forEach { free($0) } }
            var pointers: [UnsafePointer<CChar>?] = names.map { UnsafePointer($0) }
            let described = try AdminRequest.run(client, operation: RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, timeout: timeout) { options, queue in
                pointers.withUnsafeMutableBufferPointer { rd_kafka_DescribeConsumerGroups(client.pointer, $0.baseAddress, $0.count, options, queue) }
            } results: { event -> Result<[KafkaConsumerGroupDescription], KafkaError> in
                var count = 0
                guard let result = rd_kafka_event_DescribeConsumerGroups_result(event),
                      let descriptions = rd_kafka_DescribeConsumerGroups_result_groups(result, &count) else { return .success([]) }
                var groups: [KafkaConsumerGroupDescription] = []
                for index in 0..<count {
                    guard let description = descriptions[index] else { continue }
                    let name = String(cString: rd_kafka_ConsumerGroupDescription_group_id(description))
                    if let error = rd_kafka_ConsumerGroupDescription_error(description), rd_kafka_error_code(error) != RD_KAFKA_RESP_ERR_NO_ERROR {
                        return .failure(KafkaError(code: rd_kafka_error_code(error),
                                                   context: "describing group \(name) failed: \(String(cString: rd_kafka_error_string(error)))"))
                    }
                    let members = (0..<rd_kafka_ConsumerGroupDescription_member_count(description)).compactMap { memberIndex -> KafkaConsumerGroupDescription.Member? in
                        guard let member = rd_kafka_ConsumerGroupDescription_member(description, memberIndex) else { return nil }
                        let assignment = rd_kafka_MemberDescription_assignment(member).flatMap { rd_kafka_MemberAssignment_partitions($0) }
                        return KafkaConsumerGroupDescription.Member(
                            memberID: String(cString: rd_kafka_MemberDescription_consumer_id(member)),
                            clientID: String(cString: rd_kafka_MemberDescription_client_id(member)),
                            host: String(cString: rd_kafka_MemberDescription_host(member)),
                            assignment: assignment.map { RDKafkaTopicPartitionList.elements(of: $0).map(\.partition) } ?? []
                        )
                    }
                    let state = String(cString: rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(description)))
                    groups.append(KafkaConsumerGroupDescription(group: name, state: state, members: members))
                }
                return .success(groups)
            }
            return try described.get()
        }
    }

    /// Sets a group's committed offsets (AlterConsumerGroupOffsets). Kafka refuses it while the
    /// group has members; callers check first, to name them.
    public func alterConsumerGroupOffsets(_ group: String, to offsets: [KafkaTopicPartition: Int64],
                                          timeout: Duration = .seconds(30)) async throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let client = self.client
        _ = try await BlockingWork.run { () throws(KafkaError) in
            let list = RDKafkaTopicPartitionList(Array(offsets.keys), offsets: offsets)
            var requests: [OpaquePointer?] = [rd_kafka_AlterConsumerGroupOffsets_new(group, list.pointer)]
            defer { requests.withUnsafeMutableBufferPointer { rd_kafka_AlterConsumerGroupOffsets_destroy_array($0.baseAddress, $0.count) } }
            return try Self.groupOffsets(client, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, timeout: timeout, what: "changing the offsets of group \(group)") { options, queue in
                requests.withUnsafeMutableBufferPointer { rd_kafka_AlterConsumerGroupOffsets(client.pointer, $0.baseAddress, $0.count, options, queue) }
            } groups: { event, count in
                rd_kafka_event_AlterConsumerGroupOffsets_result(event).flatMap { rd_kafka_AlterConsumerGroupOffsets_result_groups($0, &count) }
            }
        }
    }

    /// A group's committed offsets (ListConsumerGroupOffsets), without joining it: a partition the
    /// group never committed is left out.
    public func consumerGroupOffsets(_ group: String, partitions: [KafkaTopicPartition],
                                     timeout: Duration = .seconds(30)) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let client = self.client
        return try await BlockingWork.run { () throws(KafkaError) in
            let list = RDKafkaTopicPartitionList(partitions)
            var requests: [OpaquePointer?] = [rd_kafka_ListConsumerGroupOffsets_new(group, list.pointer)]
            defer { requests.withUnsafeMutableBufferPointer { rd_kafka_ListConsumerGroupOffsets_destroy_array($0.baseAddress, $0.count) } }
            return try Self.groupOffsets(client, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, timeout: timeout, what: "reading the offsets of group \(group)") { options, queue in
                requests.withUnsafeMutableBufferPointer { rd_kafka_ListConsumerGroupOffsets(client.pointer, $0.baseAddress, $0.count, options, queue) }
            } groups: { event, count in
                rd_kafka_event_ListConsumerGroupOffsets_result(event).flatMap { rd_kafka_ListConsumerGroupOffsets_result_groups($0, &count) }
            }.filter { $0.value >= 0 }
        }
    }

    /// Runs a group-offsets request and returns the offsets its answer lists, or throws with
    /// every group and partition error it names.
    private static func groupOffsets(
        _ client: RDKafkaClient, _ operation: rd_kafka_admin_op_t, timeout: Duration, what: String,
        request: (OpaquePointer?, OpaquePointer?) -> Void,
        groups: (OpaquePointer, inout Int) -> UnsafeMutablePointer<OpaquePointer?>?
    ) throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let answer = try AdminRequest.run(client, operation: operation, timeout: timeout, request: request) { event -> ([KafkaTopicPartition: Int64], [String]) in
            var count = 0
            guard let results = groups(event, &count) else { return ([:], ["no answer"]) }
            var offsets: [KafkaTopicPartition: Int64] = [:]
            var failures: [String] = []
            for index in 0..<count {
                guard let groupResult = results[index] else { continue }
                if let error = rd_kafka_group_result_error(groupResult), rd_kafka_error_code(error) != RD_KAFKA_RESP_ERR_NO_ERROR {
                    failures.append(String(cString: rd_kafka_error_string(error)))
                }
                if let partitions = rd_kafka_group_result_partitions(groupResult) {
                    for element in RDKafkaTopicPartitionList.elements(of: partitions) {
                        if element.error != RD_KAFKA_RESP_ERR_NO_ERROR {
                            failures.append("\(element.partition): \(String(cString: rd_kafka_err2str(element.error)))")
                        } else {
                            offsets[element.partition] = element.offset
                        }
                    }
                }
            }
            return (offsets, failures)
        }
        guard answer.1.isEmpty else { throw KafkaError(kind: .broker, message: "\(what) failed: \(answer.1.joined(separator: "; "))") }
        return answer.0
    }
}
