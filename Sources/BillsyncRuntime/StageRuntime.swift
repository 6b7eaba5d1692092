import BillsyncContracts
import BillsyncKafka
import Foundation
import Logging
import ServiceLifecycle

/// Where a stage reads and writes, and how it treats failures.
public struct StageRuntimeConfiguration: Sendable {
    /// The stage's name (`transformer`), used in headers, metrics and logs.
    public var stage: String
    /// The consumer group: every copy of the stage joins it, so copies share the partitions.
    public var group: String
    public var inputTopics: [String]
    /// One topic per retry tier, in order; must match `retry.tiers`.
    public var retryTopics: [String]
    public var deadLetterTopic: String
    public var retry = RetryPolicy()
    /// Messages taken from the consumer and worked on together; their outputs are written in
    /// one go and they are marked done together once the broker confirmed every output.
    public var maximumInFlight = 500
    /// How many cores a chunk's CPU work may use at once: its inputs are decoded and validated
    /// side by side, and a handler that splits its batch (the transformer) transforms it side by
    /// side. One keeps it on one task. By default the cores this process may use, at most four
    /// (beyond that a stage scales by replicas): on two cores shared with the broker, two made
    /// the transformer about a tenth faster.
    public var parallelism = StageRuntimeConfiguration.defaultParallelism
    public static var defaultParallelism: Int { max(1, min(ProcessInfo.processInfo.activeProcessorCount, 4)) }
    /// How long to wait (on the runtime's clock) for a chunk to fill up to `maximumInFlight` once
    /// its first messages are there. Zero (the default) hands over what is there at once; a sink that pays per call
    /// (Salesforce's API budget) waits a little to send full calls.
    public var chunkLinger: Duration = .zero
    /// How long an input may wait for another (`StageFailure.waiting`) once its partition is
    /// quiet, before it is handled as it is: handed back with each next chunk until then. The
    /// one it waits for has the same key, so it comes through the same partition: while that
    /// partition holds messages the stage has not read (a backlog), or still grows (the stage
    /// before is still writing: its own backlog), it may be on its way, and the input waits
    /// without this clock running, however long that takes.
    public var maximumWait: Duration = .seconds(5)
    /// How often the lag gauges are refreshed between chunks, so a stalled stage shows its
    /// age growing.
    public var lagReportInterval: Duration = .seconds(5)
    /// Where the worker's heartbeat (`worker-status`) goes; nil sends none. The alerter reads
    /// it to tell a slow stage from a stalled one and to notice a worker that stopped reporting.
    public var heartbeatTopic: String?
    /// How often the heartbeat is sent (on the runtime's clock).
    public var heartbeatInterval: Duration = .seconds(15)
    /// The API use a sink knows (Salesforce's daily limit), told in the heartbeat.
    public var apiUsage: (@Sendable () -> WorkerStatus.APIUsage?)?
    /// Names this process in dead-letter headers (host and pid by default).
    public var worker = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"

    public init(stage: String, group: String, inputTopics: [String], retryTopics: [String], deadLetterTopic: String) {
        self.stage = stage
        self.group = group
        self.inputTopics = inputTopics
        self.retryTopics = retryTopics
        self.deadLetterTopic = deadLetterTopic
    }
}

/// Runs one stage: consume → validate → handle → produce → mark done, at least once.
///
/// A message is marked done (and so eventually committed) only after the broker confirmed every
/// message produced for it: its outputs, or its copy in a retry or dead-letter topic. A crash at
/// any point repeats work and never loses it. It owns its consumer, so stopping it (SIGTERM via
/// the service group) stops fetching, finishes the messages in flight, commits and leaves the group.
public final class StageRuntime<Handler: StageHandler>: Service, Sendable {
    public let configuration: StageRuntimeConfiguration
    private let handler: Handler
    private let contracts: MessageContracts
    private let consumer: KafkaConsumer
    private let producer: KafkaProducer
    private let metrics: StageMetrics
    private let logger: Logger
    private let pauser: RetryPartitionPauser
    private let lagTracker: StageLagTracker
    private let clock: WallClock
    /// Stamped on every output: which stage wrote it.
    private let writtenBy: KafkaHeader
    /// Said in every heartbeat: a worker started after another went silent is its replacement.
    private let startedAt: Timestamp

    public init(
        configuration: StageRuntimeConfiguration,
        handler: Handler,
        contracts: MessageContracts,
        consumer: KafkaConsumer,
        producer: KafkaProducer,
        metrics: StageMetrics,
        clock: WallClock = .system,
        logger: Logger
    ) {
        precondition(configuration.retryTopics.count == configuration.retry.tiers.count,
                     "one retry topic per retry tier")
        var logger = logger
        logger[metadataKey: RuntimeLogKeys.stage] = "\(configuration.stage)"
        self.configuration = configuration
        self.handler = handler
        self.contracts = contracts
        self.consumer = consumer
        self.producer = producer
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        self.pauser = RetryPartitionPauser(consumer: consumer, clock: clock, metrics: metrics, logger: logger)
        self.lagTracker = StageLagTracker(watermarks: { consumer.cachedWatermarks(for: $0) })
        self.writtenBy = KafkaHeader(name: StageHeaders.writtenBy, value: Array(configuration.stage.utf8))
        self.startedAt = Timestamp(clock.now)
    }

    /// True once the consumer took part in a group assignment.
    public var hasJoinedGroup: Bool { consumer.hasJoinedGroup }

    /// Messages behind, and the age of the oldest in hand, on every partition worked on.
    public var lag: StageLag { lagTracker.snapshot(now: clock.now) }

    /// Retry partitions paused until their next message is due.
    public var waitingRetryPartitions: Set<KafkaTopicPartition> { pauser.deferredPartitions }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.consumer.run() }
            group.addTask {
                // The timers live as long as processing does.
                try await withThrowingTaskGroup(of: Void.self) { timers in
                    timers.addTask { await self.pauser.run() }
                    timers.addTask { await self.reportLagPeriodically() }
                    timers.addTask { await self.sendHeartbeats() }
                    defer { timers.cancelAll() }
                    do {
                        try await self.process()
                        // Stopped on purpose: said last (after the timers, so no "running" beat
                        // overtakes it), so the alerter does not take it for an outage.
                        timers.cancelAll()
                        try? await timers.waitForAll()
                        await self.sendHeartbeat(state: .stopped)
                    } catch {
                        // Stop fetching so nothing more is read that cannot be handled; what was
                        // not marked done is read again after a restart.
                        self.consumer.triggerShutdown()
                        throw error
                    }
                }
            }
        }
    }

    private func reportLagPeriodically() async {
        while !Task.isCancelled {
            do { try await clock.sleep(for: configuration.lagReportInterval) } catch { return }
            metrics.lag(lag)
        }
    }

    private func sendHeartbeats() async {
        guard configuration.heartbeatTopic != nil else { return }
        while !Task.isCancelled {
            await sendHeartbeat(state: .running)
            do { try await clock.sleep(for: configuration.heartbeatInterval) } catch { return }
        }
    }

    /// The worker's status as the `worker-status` contract says it. A heartbeat that cannot be
    /// written is logged and skipped: the next one says the same, newer.
    private func sendHeartbeat(state: WorkerStatus.State) async {
        guard let topic = configuration.heartbeatTopic else { return }
        let now = clock.now
        let lag = lagTracker.snapshot(now: now)
        let positions = lagTracker.positions
        let partitions = lag.partitions.sorted { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }.map { partition, lag in
            WorkerStatus.Partition(topic: partition.topic, partition: Int(partition.partition), position: positions[partition] ?? 0,
                                   lagMessages: lag.messages, lagSeconds: Double(lag.oldestUnprocessedAge.components.seconds)
                                       + Double(lag.oldestUnprocessedAge.components.attoseconds) / 1e18)
        }
        let status = WorkerStatus(worker: configuration.worker, stage: configuration.stage, group: configuration.group, state: state,
                                  reportedAt: Timestamp(now), intervalSeconds: Double(configuration.heartbeatInterval.components.seconds),
                                  handled: lagTracker.handled, partitions: partitions, apiUsage: configuration.apiUsage?(),
                                  startedAt: startedAt)
        let envelope = MessageEnvelope(source: MessageSource(system: .billsync, name: configuration.stage),
                                       businessKey: configuration.worker, occurredAt: Timestamp(now), payload: status)
        // Not waited for: a heartbeat must never hold up the stage or its shutdown (the producer's
        // flush bounds the last one), and a lost one is said again by the next.
        let logger = self.logger
        do {
            let value = try contracts.encode(envelope)
            try await producer.sendDetached(KafkaProducerMessage(topic: topic, key: Array(configuration.worker.utf8), value: value)) { report in
                if let error = report.error { logger.warning("heartbeat not written", metadata: ["error": "\(error)"]) }
            }
        } catch {
            logger.warning("heartbeat not written", metadata: ["error": "\(error)"])
        }
    }

    /// The processing loop; ends when the consumer's messages end (shutdown).
    private func process() async throws {
        var iterator = consumer.messages.makeAsyncIterator()
        logger.info("stage started", metadata: ["billsync.inputs": "\(configuration.inputTopics)"])
        // A chunk's acknowledgements are awaited in a task of their own while the next chunk is
        // fetched and handled: the broker's round trip overlaps with work instead of adding to
        // it. Each completion waits for the one before, so chunks are marked done in order, and
        // at most one chunk waits while the next is prepared.
        var completing: Task<Void, any Error>?
        var waiting = Waiting()
        while true {
            var chunk: ArraySlice<KafkaConsumerMessage>
            if waiting.messages.isEmpty {
                chunk = try await iterator.next(upTo: configuration.maximumInFlight)
                if chunk.isEmpty { break }
                if configuration.chunkLinger > .zero, chunk.count < configuration.maximumInFlight {
                    chunk = try await topUp(chunk, from: &iterator)
                }
            } else {
                // Inputs wait for others: what arrives meanwhile joins them, and they are looked
                // at again even when nothing does.
                chunk = try await topUp([], from: &iterator, linger: max(configuration.chunkLinger, .milliseconds(50)))
            }
            let prepared = try await prepare(chunk, waiting: &waiting)
            let previous = completing
            completing = Task {
                try await previous?.value
                try await self.complete(prepared)
            }
            try await previous?.value
        }
        try await completing?.value
        logger.info("stage stopped fetching; in-flight messages are done")
    }

    private struct Decoded {
        let message: KafkaConsumerMessage
        let input: StageMessage<Handler.Input>
    }

    /// Inputs a handler said wait for others (`StageFailure.waiting`): not done, handed to the
    /// handler again before the next chunk's, in their order, until they no longer may wait.
    private struct Waiting {
        var messages: [KafkaConsumerMessage] = []
        /// When each began waiting with its partition read to the end, by topic, partition and offset.
        var since: [String: Date] = [:]
        /// Where the partitions of waiting inputs are, to tell when their clock may run.
        var partitions = QuietPartitions()

        static func id(_ message: KafkaConsumerMessage) -> String { "\(message.topic)/\(message.partition)/\(message.offset)" }
    }

    /// Adds what arrives within `linger` (`chunkLinger` by default) to a chunk, up to `maximumInFlight`.
    private func topUp(_ chunk: ArraySlice<KafkaConsumerMessage>, from iterator: inout KafkaConsumerMessages.AsyncIterator,
                       linger: Duration? = nil) async throws -> ArraySlice<KafkaConsumerMessage> {
        var combined = Array(chunk)
        let deadline = clock.now.addingTimeInterval((linger ?? configuration.chunkLinger).timeInterval)
        while combined.count < configuration.maximumInFlight {
            let more = try iterator.nextIfAvailable(upTo: configuration.maximumInFlight - combined.count)
            if !more.isEmpty {
                combined.append(contentsOf: more)
                continue
            }
            guard clock.now < deadline, !Task.isCancelled else { break }
            // Nothing signals "a fetch arrived" to this loop; a short look again keeps the wait
            // for a full chunk within `chunkLinger`.
            try? await clock.sleep(for: .milliseconds(2))
        }
        return combined[...]
    }

    /// A chunk whose outputs are queued for the broker but not yet acknowledged.
    private struct PreparedChunk {
        let chunk: ArraySlice<KafkaConsumerMessage>
        let deliveries: KafkaPendingDeliveries?
        let produced: [OutgoingMessage]
        let done: [KafkaConsumerMessage]
    }

    /// Validates and handles a chunk and queues its outputs (results, retries, dead letters).
    private func prepare(_ chunk: ArraySlice<KafkaConsumerMessage>, waiting: inout Waiting) async throws -> PreparedChunk {
        var outputs: [KafkaProducerMessage] = []
        var produced: [OutgoingMessage] = []
        var done: [KafkaConsumerMessage] = []
        var decoded: [Decoded] = []
        // Per partition held back: its first message not due yet, its due time, and what
        // followed it in the chunk (read again with it once it is due).
        var heldBack: [KafkaTopicPartition: (due: Date, messages: [KafkaConsumerMessage])] = [:]
        // Counted per topic and recorded once per chunk: a metric lookup per message costs more
        // than the rest of the bookkeeping. A message of an input topic counts as consumed when it
        // is taken, before any work on it (a retry topic's only once it is due).
        var consumed: [String: Int] = [:]
        var processed: [String: Int] = [:]
        for message in chunk where !configuration.retryTopics.contains(message.topic) { consumed[message.topic, default: 0] += 1 }
        for (topic, count) in consumed { metrics.consumed(topic: topic, count: count) }
        consumed = [:]
        let now = clock.now
        lagTracker.taken(chunk)
        let lag = lagTracker.snapshot(now: now)
        waiting.partitions.taken(chunk)
        // A waiting input's clock runs only while its partition is quiet: read to its end and no
        // longer growing.
        var quiet: [KafkaTopicPartition: Bool] = [:]
        for message in waiting.messages {
            let partition = message.topicPartition
            if quiet[partition] == nil {
                quiet[partition] = waiting.partitions.isQuiet(partition, high: consumer.cachedWatermarks(for: partition)?.high)
            }
            if quiet[partition] == false { waiting.since[Waiting.id(message)] = now }
        }
        let taken = waiting.messages + chunk
        waiting.messages = []
        // Decoding (parsing and validating) is most of a chunk's work before the handler's, and
        // each input's is its own: done side by side, read back in order.
        let decodings = await taken.mapSideBySide(parts: configuration.parallelism) { [contracts] slice in
            slice.map { message in Result { () throws(ContractViolation) in try Handler.Input.decode(message, contracts: contracts) } }
        }
        for (message, decoding) in zip(taken, decodings) {
            // Per message, so the common case (nothing held back, nothing waiting) hashes nothing.
            if !heldBack.isEmpty, heldBack[message.topicPartition] != nil {
                heldBack[message.topicPartition]!.messages.append(message)
                continue
            }
            let waitingSince = waiting.since.isEmpty ? nil : waiting.since[Waiting.id(message)]
            let isRetry = configuration.retryTopics.contains(message.topic)
            if isRetry, waitingSince == nil { consumed[message.topic, default: 0] += 1 }
            let history = FailureHistory(headers: message.headers)
            if isRetry, let dueAt = history.dueAt {
                let due = Date(timeIntervalSince1970: Double(dueAt) / 1000)
                if due > now {
                    // Not due yet: wait for it without holding up other partitions.
                    heldBack[message.topicPartition] = (due, [message])
                    consumed[message.topic, default: 0] -= 1
                    continue
                }
            }
            do throws(ContractViolation) {
                let input = try decoding.get()
                decoded.append(Decoded(message: message, input: StageMessage(
                    input: input, topic: message.topic, partition: message.partition, offset: message.offset,
                    attempt: history.attempts + 1, lag: lag, logger: logger,
                    replayID: message.headers.last(named: StageHeaders.replayID),
                    lineage: message.headers.filter { StageHeaders.lineage.contains($0.name) },
                    mayWait: waitingSince.map { now.timeIntervalSince($0) < configuration.maximumWait.timeInterval } ?? true)))
            } catch {
                // Poison: it will never decode, so it goes straight to the dead-letter topic
                // and the messages behind it carry on.
                let failure = StageFailure(error)
                var messageLogger = logger
                messageLogger[metadataKey: RuntimeLogKeys.topic] = "\(message.topic)"
                messageLogger[metadataKey: RuntimeLogKeys.offset] = "\(message.partition):\(message.offset)"
                messageLogger.warning("message refused", metadata: [RuntimeLogKeys.errorCode: "\(failure.code)",
                                                                    RuntimeLogKeys.errorMessage: "\(failure.message)"])
                metrics.failed(topic: message.topic, failure: failure)
                outputs.append(route(message, failure: failure, attempts: history.attempts + 1))
                done.append(message)
            }
        }
        for (partition, held) in heldBack {
            lagTracker.handedBack(partition, from: held.messages[0].offset)
            try await pauser.holdBack(held.messages, until: held.due)
        }
        for batch in decoded.chunked(into: max(1, handler.batchSize)).map(Array.init) {
            let results = await handleWithRetries(batch)
            for (item, result) in zip(batch, results) {
                switch result {
                case let .success(messages):
                    produced += messages
                    // A replayed input's outputs carry its replay id on, for the alerter and lineage.
                    let replayed = item.input.replayID.map { KafkaHeader(name: StageHeaders.replayID, string: $0) }
                    outputs.append(contentsOf: messages.map { output in
                        var headers = output.headers
                        headers.removeAll { $0.name == StageHeaders.replayID }
                        if let replayed { headers.append(replayed) }
                        headers.append(writtenBy)
                        return KafkaProducerMessage(topic: output.topic, key: Array(output.key.utf8), value: output.value, headers: headers)
                    })
                    processed[item.message.topic, default: 0] += 1
                case let .failure(failed) where failed.failure.waits && item.input.mayWait:
                    let id = Waiting.id(item.message)
                    if waiting.since[id] == nil { waiting.since[id] = now }
                    waiting.messages.append(item.message)
                    continue
                case let .failure(failed):
                    let (failure, attempts) = (failed.failure, failed.attempts)
                    item.input.logger.warning("message failed", metadata: [
                        RuntimeLogKeys.errorCode: "\(failure.code)", RuntimeLogKeys.errorClass: "\(failure.errorClass.rawValue)",
                        RuntimeLogKeys.errorMessage: "\(failure.message)", RuntimeLogKeys.attempts: "\(attempts)",
                    ])
                    let routed = route(item.message, failure: failure, attempts: attempts)
                    outputs.append(routed)
                    if routed.topic == configuration.deadLetterTopic {
                        outputs.append(contentsOf: failure.companions.map {
                            KafkaProducerMessage(topic: $0.topic, key: Array($0.key.utf8), value: $0.value, headers: $0.headers)
                        })
                    }
                }
                if !waiting.since.isEmpty { waiting.since[Waiting.id(item.message)] = nil }
                done.append(item.message)
            }
        }
        for (topic, count) in consumed { metrics.consumed(topic: topic, count: count) }
        for (topic, count) in processed { metrics.processed(topic: topic, count: count) }
        let deliveries = outputs.isEmpty ? nil : try await producer.enqueueAll(outputs)
        return PreparedChunk(chunk: chunk, deliveries: deliveries, produced: produced, done: done)
    }

    /// Only once the broker has every output is an input done; a failure here stops the stage
    /// with nothing marked, so a restart reads those inputs again.
    private func complete(_ prepared: PreparedChunk) async throws {
        if let deliveries = prepared.deliveries {
            let reports = try await deliveries.reports()
            var written: [String: Int] = [:]
            for report in reports { written[report.topic, default: 0] += 1 }
            for (topic, count) in written { metrics.produced(topic: topic, count: count) }
        }
        if !prepared.produced.isEmpty { try await handler.acknowledged(prepared.produced) }
        consumer.markDone(prepared.done)
        lagTracker.finished(prepared.done)
        metrics.lag(lag)
    }

    /// Calls the handler, retrying transient failures in process with jittered backoff. The
    /// inputs that failed are handed back together, so a sink that pays per call (Salesforce)
    /// retries them in one call, not one call each.
    /// Returns, per input, the outputs or the last failure with the number of attempts made.
    private func handleWithRetries(_ batch: [Decoded]) async -> [Result<[OutgoingMessage], FailureWithAttempts>] {
        var results = await timedHandle(batch.map(\.input)).map { $0.mapError { FailureWithAttempts($0, 0) } }
        var generator = SystemRandomNumberGenerator()
        var attempt = 1
        while true {
            var retrying: [Int] = []
            for index in batch.indices {
                guard case let .failure(failed) = results[index], failed.attempts == 0 else { continue }
                let failure = failed.failure
                if failure.waits, batch[index].input.mayWait {
                    results[index] = .failure(FailureWithAttempts(failure, batch[index].input.attempt - 1))
                    continue
                }
                metrics.failed(topic: batch[index].message.topic, failure: failure)
                if failure.errorClass == .transient, attempt < configuration.retry.inProcessAttempts, !Task.isCancelled {
                    retrying.append(index)
                } else {
                    results[index] = .failure(FailureWithAttempts(failure, batch[index].input.attempt - 1 + attempt))
                }
            }
            if retrying.isEmpty { return results }
            try? await clock.sleep(for: configuration.retry.backoff(afterAttempt: attempt, using: &generator))
            attempt += 1
            let retried = await timedHandle(retrying.map { batch[$0].input })
            for (index, result) in zip(retrying, retried) {
                results[index] = result.mapError { FailureWithAttempts($0, 0) }
            }
        }
    }

    struct FailureWithAttempts: Error {
        let failure: StageFailure
        let attempts: Int
        init(_ failure: StageFailure, _ attempts: Int) {
            self.failure = failure
            self.attempts = attempts
        }
    }

    private func timedHandle(_ inputs: [StageMessage<Handler.Input>]) async -> [Result<[OutgoingMessage], StageFailure>] {
        let start = ContinuousClock.now
        var results = await handler.handle(inputs)
        metrics.handled(batchOf: inputs.count, duration: ContinuousClock.now - start)
        if results.count != inputs.count {
            // A handler bug must not silently drop or invent records.
            logger.error("handler returned \(results.count) results for \(inputs.count) messages")
            results = inputs.map { _ in .failure(.transient("handler.result-count", "the handler returned a wrong number of results")) }
        }
        return results
    }

    /// The next retry topic for a transient failure, or the dead-letter topic.
    private func route(_ message: KafkaConsumerMessage, failure: StageFailure, attempts: Int) -> KafkaProducerMessage {
        let tier = configuration.retryTopics.firstIndex(of: message.topic).map { $0 + 1 } ?? 0
        let now = clock.now
        if failure.errorClass == .transient, tier < configuration.retryTopics.count {
            let due = now.addingTimeInterval(configuration.retry.tiers[tier].timeInterval)
            metrics.retried(topic: message.topic, code: failure.code)
            return KafkaProducerMessage(
                topic: configuration.retryTopics[tier], key: message.key, value: message.value,
                headers: FailureHistory.headers(for: message, failure: failure, attempts: attempts, stage: configuration.stage,
                                                group: configuration.group, worker: configuration.worker, now: now, dueAt: due))
        }
        metrics.deadLettered(topic: message.topic, code: failure.code)
        return KafkaProducerMessage(
            topic: configuration.deadLetterTopic, key: message.key, value: message.value,
            headers: FailureHistory.headers(for: message, failure: failure, attempts: attempts, stage: configuration.stage,
                                            group: configuration.group, worker: configuration.worker, now: now, dueAt: nil))
    }
}

extension Array {
    @usableFromInline
    func chunked(into size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

extension Array where Element: Sendable {
    /// `transform` over the elements cut into at most `parts` contiguous slices, each on a task
    /// of its own, the answers put back in order. For CPU work only (the tasks run on the
    /// cooperative pool); a slice is at least `minimumSlice` elements, below which a task costs
    /// more than it saves. Inlinable, so that each caller gets a copy specialized to its types:
    /// unspecialized, putting the answers back in order copied each one through its type's
    /// value witnesses (2 % of the transformer's time).
    @inlinable
    public func mapSideBySide<Output: Sendable>(
        parts: Int, minimumSlice: Int = 16, _ transform: @escaping @Sendable (ArraySlice<Element>) -> [Output]
    ) async -> [Output] {
        let size = Swift.max(minimumSlice, (count + Swift.max(1, parts) - 1) / Swift.max(1, parts))
        guard parts > 1, count > size else { return transform(self[...]) }
        let slices = chunked(into: size)
        return await withTaskGroup(of: (Int, [Output]).self) { group in
            for (index, slice) in slices.enumerated() {
                group.addTask { (index, transform(slice)) }
            }
            var answers = [[Output]](repeating: [], count: slices.count)
            for await (index, answer) in group { answers[index] = answer }
            return answers.flatMap { $0 }
        }
    }
}
