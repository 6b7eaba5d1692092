import CRdKafka
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Reads messages as a member of a consumer group, at least once.
///
/// Nothing is committed for a message until `markDone(_:)` was called for it and for every
/// message before it in its partition. Before partitions move to another member, and on
/// shutdown, what is done is committed; what is not is read again by the next owner.
///
/// Run it (`run()`, or as a `Service` in a `ServiceGroup`) and iterate `messages`.
public final class KafkaConsumer: Sendable {
    private let client: RDKafkaClient
    private let session: ConsumerSession
    private let poller: PollingThread

    public init(configuration: KafkaConsumerConfiguration, logger: Logger) throws(KafkaError) {
        var logger = logger
        logger[metadataKey: LogKeys.kafkaGroup] = "\(configuration.groupID)"
        let session = ConsumerSession(bufferCapacity: configuration.bufferedMessages, logger: logger)
        let context: RDKafkaClientContext
        if case .topics = configuration.subscription {
            context = RDKafkaClientContext(logger: logger, onRebalance: { client, code, list in
                session.handleRebalance(client, code, list)
            })
        } else {
            context = RDKafkaClientContext(logger: logger)
        }
        let client = try RDKafkaClient(
            type: RD_KAFKA_CONSUMER,
            properties: try configuration.validatedLibrdkafkaProperties(),
            context: context
        )
        // Route every event of the handle through rd_kafka_consumer_poll.
        rd_kafka_poll_set_consumer(client.pointer)
        try Self.subscribe(client, to: configuration.subscription)
        self.client = client
        self.session = session
        let drainTimeout = configuration.drainTimeout
        let commits = configuration.commitsOffsets
        let queue = RDKafkaQueue(consumerQueueOf: client)
        self.poller = PollingThread(
            name: "billsync-consumer-poll",
            iteration: { session.pollOnce(client.pointer, queue: queue.pointer) },
            finale: { Self.close(client, session: session, drainTimeout: drainTimeout, commits: commits) }
        )
    }

    /// The messages of the subscribed topics, in order per partition. Ends when the consumer
    /// shuts down; throws only when the consumer failed fatally. One task iterates at a time.
    public var messages: KafkaConsumerMessages { KafkaConsumerMessages(buffer: session.buffer) }

    /// Marks a message processed. Its offset is committed once every earlier message of its
    /// partition is done too. Safe from any task; messages can be marked in any order.
    public func markDone(_ message: KafkaConsumerMessage) {
        session.markDone(message)
    }

    /// Marks many messages processed at once (one lock instead of one per message).
    public func markDone(_ messages: some Collection<KafkaConsumerMessage>) {
        session.markDone(messages)
    }

    /// Starts fetching and waits until the consumer has shut down: on `triggerShutdown()`, on the
    /// service group's graceful shutdown (SIGTERM), or when the task is cancelled.
    public func run() async throws {
        poller.start()
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await poller.waitUntilFinished()
            } onCancel: {
                self.triggerShutdown()
            }
        } onGracefulShutdown: {
            self.triggerShutdown()
        }
        if let failure = session.failure { throw failure }
    }

    /// Stops fetching and ends `messages`; then waits (up to `drainTimeout`) for messages already
    /// handed out to be marked done, commits, and leaves the group. `run()` returns after that.
    public func triggerShutdown() {
        session.buffer.finish()
        poller.requestStop()
    }

    /// True once the consumer received its first assignment from the group (possibly empty, when
    /// the group has more members than partitions): it is a working member.
    public var hasJoinedGroup: Bool { session.hasJoinedGroup }

    /// The partitions this member currently owns.
    public var assignment: Set<KafkaTopicPartition> { session.assignment }

    /// Messages handed out and not yet marked done.
    public var outstandingMessages: Int { session.outstandingCount }

    /// Commits every done offset now and waits for the broker's answer.
    public func commit() async throws(KafkaError) {
        let session = self.session
        try await onPollingThread { client throws(KafkaError) in
            if let error = session.commitSynchronously(client) { throw error }
        }
    }

    /// Stops fetching these partitions; the consumer stays in its group. Messages already
    /// fetched may still be delivered.
    public func pause(_ partitions: [KafkaTopicPartition]) async throws(KafkaError) {
        try await onPollingThread { client throws(KafkaError) in
            let list = RDKafkaTopicPartitionList(partitions)
            let result = rd_kafka_pause_partitions(client, list.pointer)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: result, context: "pause failed") }
        }
    }

    public func resume(_ partitions: [KafkaTopicPartition]) async throws(KafkaError) {
        try await onPollingThread { client throws(KafkaError) in
            let list = RDKafkaTopicPartitionList(partitions)
            let result = rd_kafka_resume_partitions(client, list.pointer)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: result, context: "resume failed") }
        }
    }

    /// Hands back messages to be read again later instead of being marked done (a retry that
    /// is not due yet, and what follows it), and pauses their partition on the first of them
    /// until `resume(_:)`. `messages` are handed-out messages of one partition, in offset order.
    ///
    /// They stop counting as outstanding at once, so a shutdown does not wait for them; what
    /// came before them in the partition is still committed as it is marked done.
    ///
    /// Returns false when there is nothing to hold back because the partition is no longer
    /// this member's: the consumer is shutting down, or the partition was revoked (and perhaps
    /// assigned again) since the messages were handed out (their offsets are not pending in
    /// its current assignment, or it was revoked before the pause could be made). Its next owner reads them again
    /// from the last commit. Throws only when librdkafka refuses to re-position a partition
    /// this member still owns.
    @discardableResult
    public func holdBack(_ messages: [KafkaConsumerMessage]) async throws(KafkaError) -> Bool {
        guard let first = messages.first else { return true }
        let partition = first.topicPartition
        let offset = first.offset
        let session = self.session
        guard let epoch = session.release(messages, of: partition, from: offset) else { return false }
        let held = Mutex(false)
        do {
            try await onPollingThread { client throws(KafkaError) in
                guard session.owns(partition, since: epoch) else { return }
                let list = RDKafkaTopicPartitionList([partition], offsets: [partition: offset])
                let paused = rd_kafka_pause_partitions(client, list.pointer)
                guard paused == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: paused, context: "pause \(partition) failed") }
                if let error = rd_kafka_seek_partitions(client, list.pointer, 10_000) {
                    throw KafkaError(consuming: error, context: "seek \(partition) to \(offset) failed")
                }
                if let failed = list.elements.first(where: { $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }) {
                    throw KafkaError(code: failed.error, context: "seek \(partition) to \(offset) failed")
                }
                session.rewound(partition, to: offset)
                held.withLock { $0 = true }
            }
        } catch where error.kind == .shutdown {
            return false
        }
        return held.withLock { $0 }
    }

    /// The offsets this consumer's group has committed (`KafkaOffset.invalid` where none).
    public func committedOffsets(
        for partitions: [KafkaTopicPartition],
        timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        try await RDKafkaQueries.committedOffsets(client, partitions: partitions, timeout: timeout)
    }

    /// Low and high watermarks as last seen in fetch responses (no request; nil until fetched).
    /// Prefer these for lag: some brokers answer ListOffsets "latest" wrongly.
    public func cachedWatermarks(for partition: KafkaTopicPartition) -> KafkaWatermarks? {
        RDKafkaQueries.cachedWatermarks(client, partition: partition)
    }

    /// Low and high watermarks, asked of the partition leader.
    public func queryWatermarks(
        for partition: KafkaTopicPartition,
        timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> KafkaWatermarks {
        try await RDKafkaQueries.queryWatermarks(client, partition: partition, timeout: timeout)
    }

    /// For each partition, the earliest offset whose timestamp is at or after `timestamp`
    /// (`KafkaOffset.end` when there is none).
    public func offsets(
        forTimestamp timestamp: Date,
        in partitions: [KafkaTopicPartition],
        timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        try await RDKafkaQueries.offsets(client, forTimestamp: timestamp, in: partitions, timeout: timeout)
    }

    // MARK: - Internals

    private static func subscribe(_ client: RDKafkaClient, to subscription: KafkaConsumerConfiguration.Subscription) throws(KafkaError) {
        switch subscription {
        case .topics(let topics):
            // No topics: a handle for queries (committed offsets, watermarks) that joins no group.
            guard !topics.isEmpty else { return }
            let list = RDKafkaTopicPartitionList(capacity: topics.count)
            for topic in topics { list.add(KafkaTopicPartition(topic: topic, partition: RD_KAFKA_PARTITION_UA)) }
            let result = rd_kafka_subscribe(client.pointer, list.pointer)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(code: result, context: "subscribe to \(topics) failed")
            }
        case .partitions(let offsets):
            let list = RDKafkaTopicPartitionList(Array(offsets.keys), offsets: offsets)
            let result = rd_kafka_assign(client.pointer, list.pointer)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(code: result, context: "assign \(offsets.keys.sorted(by: ConsumerSession.order)) failed")
            }
        }
    }

    /// Runs `body` on the polling thread between two polls, so it cannot race a rebalance.
    private func onPollingThread(
        _ body: @escaping @Sendable (OpaquePointer) throws(KafkaError) -> Void
    ) async throws(KafkaError) {
        guard !poller.isStopRequested else { throw KafkaError(kind: .shutdown, message: "the consumer is shut down") }
        let result: Result<Void, KafkaError> = await withCheckedContinuation { continuation in
            let accepted = session.enqueue { client in
                do throws(KafkaError) {
                    try body(client)
                    continuation.resume(returning: .success(()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !accepted {
                continuation.resume(returning: .failure(KafkaError(kind: .shutdown, message: "the consumer is shut down")))
            }
        }
        try result.get()
    }

    /// The last step on the polling thread: drain, commit, leave the group.
    private static func close(_ client: RDKafkaClient, session: ConsumerSession, drainTimeout: Duration, commits: Bool) {
        let deadline = ContinuousClock.now.advanced(by: drainTimeout)
        while session.outstandingCount > 0, ContinuousClock.now < deadline {
            session.runCommands(client.pointer)
            usleep(5_000)
        }
        if session.outstandingCount > 0 {
            session.logger.warning("shutting down with messages not marked done; they will be read again",
                                   metadata: ["kafka.outstanding": "\(session.outstandingCount)"])
        }
        session.runCommands(client.pointer)
        if commits, let error = session.commitSynchronously(client.pointer) {
            session.logger.error("final commit failed", metadata: [LogKeys.kafkaError: "\(error)"])
        }
        // Leaves the group; the revoke it triggers is handled by the rebalance callback here.
        let result = rd_kafka_consumer_close(client.pointer)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            session.logger.warning("leaving the group failed", metadata: [LogKeys.kafkaError: "\(KafkaError(code: result))"])
        }
        // Commands that arrived meanwhile still get an answer (from the closed handle) instead of hanging.
        session.closeCommands(client.pointer)
        session.logger.info("consumer closed")
    }
}

extension KafkaConsumer: Service {}

/// A consumer's messages, as an asynchronous sequence.
public struct KafkaConsumerMessages: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerMessage
    public typealias Failure = KafkaError

    let buffer: MessageBuffer

    public struct AsyncIterator: AsyncIteratorProtocol {
        public typealias Failure = KafkaError
        let buffer: MessageBuffer
        var cursor: MessageBuffer.Cursor

        public mutating func next() async throws(KafkaError) -> KafkaConsumerMessage? {
            try await buffer.next(&cursor)
        }

        /// The next message and those fetched with it, up to `limit`, without waiting for more:
        /// for stages that handle messages in batches. Empty when the sequence ended.
        public mutating func next(upTo limit: Int) async throws(KafkaError) -> ArraySlice<KafkaConsumerMessage> {
            try await buffer.next(&cursor, upTo: Swift.max(1, limit))
        }

        /// Messages already fetched, up to `limit`, without waiting; empty when there are none.
        public mutating func nextIfAvailable(upTo limit: Int) throws(KafkaError) -> ArraySlice<KafkaConsumerMessage> {
            try buffer.nextIfAvailable(&cursor, upTo: Swift.max(1, limit))
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(buffer: buffer, cursor: buffer.resumeCursor())
    }
}
