import CRdKafka
import Foundation
import Logging
import Synchronization

/// Everything the consumer's polling thread works on: fetching, rebalances, storing offsets,
/// and commands (seek, pause, commit) that must not race with them.
///
/// Every method that touches librdkafka's assignment runs on the polling thread, so a rebalance,
/// a seek and the offsets stored for a partition are always seen in one order.
final class ConsumerSession: Sendable {
    typealias Command = @Sendable (OpaquePointer) -> Void

    private struct State {
        var tracker = ConsumerOffsetTracker()
        var assignment: Set<KafkaTopicPartition> = []
        var commands: [Command] = []
        var failure: KafkaError?
        var commandsClosed = false
        var joinedGroup = false
        /// Per partition, moves each time it is revoked: a command prepared before must not act
        /// on a partition that was given back (and perhaps assigned again) meanwhile.
        var revocations: [KafkaTopicPartition: UInt64] = [:]
    }

    let buffer: MessageBuffer
    let logger: Logger
    /// Only touched on the polling thread.
    private let topicNames = TopicNameCache()
    private let state = Mutex(State())

    init(bufferCapacity: Int, logger: Logger) {
        self.buffer = MessageBuffer(capacity: bufferCapacity)
        self.logger = logger
    }

    var assignment: Set<KafkaTopicPartition> { state.withLock { $0.assignment } }
    var hasJoinedGroup: Bool { state.withLock { $0.joinedGroup } }
    /// Messages handed to the application and not yet marked done.
    var outstandingCount: Int { max(0, buffer.outstandingCount) }

    func markDone(_ message: KafkaConsumerMessage) {
        state.withLock { _ = $0.tracker.markDone(topic: message.topic, partition: message.partition, offset: message.offset) }
        buffer.messagesFinished(1)
    }

    func markDone(_ messages: some Collection<KafkaConsumerMessage>) {
        guard !messages.isEmpty else { return }
        state.withLock { state in
            for message in messages {
                _ = state.tracker.markDone(topic: message.topic, partition: message.partition, offset: message.offset)
            }
        }
        buffer.messagesFinished(messages.count)
    }

    /// Queues work for the polling thread; false once the consumer has closed.
    func enqueue(_ command: @escaping Command) -> Bool {
        state.withLock { state in
            guard !state.commandsClosed else { return false }
            state.commands.append(command)
            return true
        }
    }

    /// Runs what is still queued and refuses anything later.
    func closeCommands(_ client: OpaquePointer) {
        let commands = state.withLock { state in
            state.commandsClosed = true
            defer { state.commands = [] }
            return state.commands
        }
        for command in commands { command(client) }
    }

    // MARK: - On the polling thread

    /// One turn of the polling thread: run commands, store done offsets, fetch a batch.
    ///
    /// Takes what is already fetched without waiting, and waits (briefly) only when nothing is.
    /// `rd_kafka_consume_batch_queue` would hold back a partial batch until it fills while the
    /// reader idles (and measured slower even without waiting); the callback variant cannot
    /// serve a group's rebalance events.
    func pollOnce(_ client: OpaquePointer, queue: OpaquePointer) {
        runCommands(client)
        storeCommittableOffsets(client)
        let room = min(buffer.waitForRoom(timeout: .milliseconds(50)), Self.batchSize)
        guard room > 0 else { return }
        let batch = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: room)
        defer { batch.deallocate() }
        // What is already there, without waiting; if nothing is, wait (briefly) for one message
        // and take what arrived with it.
        var received = max(0, rd_kafka_consume_batch_queue(queue, 0, batch, room))
        if received == 0, rd_kafka_consume_batch_queue(queue, 100, batch, 1) == 1 {
            received = 1 + max(0, rd_kafka_consume_batch_queue(queue, 0, batch + 1, room - 1))
        }
        // A trickle: give the fetcher a millisecond to fill the batch, so a busy stream is
        // handed over in large batches (each hand-over wakes the reader) and a quiet one still
        // waits no longer than that.
        if received > 0, received < room / 8 {
            received += max(0, rd_kafka_consume_batch_queue(queue, 1, batch + received, room - received))
        }
        guard received > 0 else { return }
        var messages: [KafkaConsumerMessage] = []
        messages.reserveCapacity(received)
        for index in 0..<received {
            guard let message = batch[index] else { continue }
            defer { rd_kafka_message_destroy(message) }
            guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                handleConsumeError(message.pointee.err, message: message)
                continue
            }
            messages.append(KafkaConsumerMessage(copying: message, topicName: topicNames.name(of: message.pointee.rkt)))
        }
        // Each batch gets its own copy of a topic's name: the reader retains and releases the
        // names of the batch it is on while this thread builds the next, so the two threads
        // never contend for one reference count (sharing one cost a fifth of the throughput).
        topicNames.removeAll()
        guard !messages.isEmpty else { return }
        state.withLock { state in
            // One call per run of one partition's messages, not one per message.
            for run in messages.partitionRuns() {
                state.tracker.delivered(run.partition, offsets: run.messages.lazy.map(\.offset))
            }
        }
        buffer.push(messages)
    }

    static let batchSize = 1_024

    func runCommands(_ client: OpaquePointer) {
        let commands = state.withLock { state in
            defer { state.commands = [] }
            return state.commands
        }
        for command in commands { command(client) }
    }

    /// Hands the positions that became committable to librdkafka, which commits them on its
    /// auto-commit timer, before a revoke and on close.
    func storeCommittableOffsets(_ client: OpaquePointer) {
        let committable = state.withLock { $0.tracker.takeCommittable() }
        guard !committable.isEmpty else { return }
        let list = RDKafkaTopicPartitionList(Array(committable.keys), offsets: committable)
        let result = rd_kafka_offsets_store(client, list.pointer)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            // Typically a partition revoked meanwhile: its new owner re-reads from the last commit.
            logger.debug("some done offsets could not be stored", metadata: [
                LogKeys.kafkaError: "\(KafkaError(code: result))",
            ])
        }
    }

    /// Stores and commits done offsets synchronously (a revoke, a shutdown, or the caller asked).
    func commitSynchronously(_ client: OpaquePointer) -> KafkaError? {
        storeCommittableOffsets(client)
        let result = rd_kafka_commit(client, nil, 0)
        switch result {
        case RD_KAFKA_RESP_ERR_NO_ERROR, RD_KAFKA_RESP_ERR__NO_OFFSET:
            return nil
        default:
            return KafkaError(code: result, context: "commit failed")
        }
    }

    func handleRebalance(
        _ client: OpaquePointer,
        _ code: rd_kafka_resp_err_t,
        _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        let partitions = Set(RDKafkaTopicPartitionList.elements(of: list).map(\.partition))
        let cooperative = String(cString: rd_kafka_rebalance_protocol(client)) == "COOPERATIVE"
        switch code {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if cooperative {
                if let error = rd_kafka_incremental_assign(client, list) {
                    logger.error("incremental assign failed", metadata: [LogKeys.kafkaError: "\(KafkaError(consuming: error))"])
                }
            } else {
                rd_kafka_assign(client, list)
            }
            state.withLock {
                $0.assignment.formUnion(partitions)
                $0.joinedGroup = true
            }
            logger.info("partitions assigned", metadata: ["kafka.partitions": "\(partitions.sorted(by: Self.order))"])
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            // Commit what is done while the partitions are still ours; the next owner starts there.
            if rd_kafka_assignment_lost(client) == 0, let error = commitSynchronously(client) {
                logger.warning("commit before revoke failed", metadata: [LogKeys.kafkaError: "\(error)"])
            }
            buffer.removeAll(in: partitions)
            state.withLock { state in
                for partition in partitions { state.revocations[partition, default: 0] += 1 }
                state.tracker.forget(partitions)
                state.assignment.subtract(partitions)
            }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(client, list) { rd_kafka_error_destroy(error) }
            } else {
                rd_kafka_assign(client, nil)
            }
            logger.info("partitions revoked", metadata: ["kafka.partitions": "\(partitions.sorted(by: Self.order))"])
        default:
            logger.error("rebalance failed", metadata: [LogKeys.kafkaError: "\(KafkaError(code: code))"])
            rd_kafka_assign(client, nil)
            state.withLock { $0.assignment = [] }
        }
    }

    /// Takes back handed-out messages of one partition that will be read again, not marked
    /// done: they no longer count as outstanding and nothing from the first of them on is
    /// committed. Returns the partition's revocation count when the messages still belong to
    /// its current assignment (their first offset is pending in it), so the re-positioning that
    /// follows on the polling thread can tell whether the partition changed hands meanwhile;
    /// nil when it already has (the messages are the previous assignment's: nothing to do).
    func release(_ messages: [KafkaConsumerMessage], of partition: KafkaTopicPartition, from offset: Int64) -> UInt64? {
        let epoch = state.withLock { state -> UInt64? in
            guard state.tracker.isPending(partition, offset: offset) else { return nil }
            state.tracker.rewind(partition, to: offset)
            return state.revocations[partition, default: 0]
        }
        buffer.messagesFinished(messages.count)
        return epoch
    }

    /// On the polling thread: whether the partition is still ours and was not revoked since `epoch`.
    func owns(_ partition: KafkaTopicPartition, since epoch: UInt64) -> Bool {
        state.withLock { $0.revocations[partition, default: 0] == epoch && $0.assignment.contains(partition) }
    }

    /// On the polling thread, after a seek: forgets what was fetched of the partition from
    /// `offset` on (buffered or tracked); it is fetched again.
    func rewound(_ partition: KafkaTopicPartition, to offset: Int64) {
        buffer.removeAll(in: partition, from: offset)
        state.withLock { $0.tracker.rewind(partition, to: offset) }
    }

    private func handleConsumeError(_ code: rd_kafka_resp_err_t, message: UnsafePointer<rd_kafka_message_t>) {
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) }
        var error = KafkaError(code: code, context: topic.map { "consuming \($0)" })
        if let payload = message.pointee.payload, message.pointee.len > 0 {
            let detail = String(decoding: UnsafeRawBufferPointer(start: payload, count: message.pointee.len), as: UTF8.self)
            error = KafkaError(kind: .broker, message: "\(error.message) (\(detail))", code: code.rawValue,
                               isRetriable: error.isRetriable, isFatal: error.isFatal)
        }
        if error.isFatal {
            logger.critical("consumer failed", metadata: [LogKeys.kafkaError: "\(error)"])
            state.withLock { $0.failure = error }
            buffer.finish(failure: error)
        } else {
            // Missing topics, broker hiccups: librdkafka keeps trying by itself.
            logger.warning("consumer error", metadata: [LogKeys.kafkaError: "\(error)"])
        }
    }

    var failure: KafkaError? { state.withLock { $0.failure } }

    static func order(_ lhs: KafkaTopicPartition, _ rhs: KafkaTopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

/// Topic names by librdkafka topic handle, so each message of a batch does not copy its topic's name.
/// An entry is trusted only while the handle still points at the same name storage, so a
/// handle address reused for another topic is noticed. Used only from the polling thread.
final class TopicNameCache: @unchecked Sendable {
    private var names: [OpaquePointer: (storage: UnsafePointer<CChar>, name: String)] = [:]
    /// Consecutive messages nearly always share a topic: checked before hashing anything.
    private var last: (topic: OpaquePointer, storage: UnsafePointer<CChar>, name: String)?

    func removeAll() {
        names.removeAll(keepingCapacity: true)
        last = nil
    }

    func name(of topic: OpaquePointer?) -> String? {
        guard let topic, let storage = rd_kafka_topic_name(topic) else { return nil }
        if let last, last.topic == topic, last.storage == storage { return last.name }
        let name: String
        if let cached = names[topic], cached.storage == storage {
            name = cached.name
        } else {
            name = String(cString: storage)
            names[topic] = (storage, name)
        }
        last = (topic, storage, name)
        return name
    }
}
