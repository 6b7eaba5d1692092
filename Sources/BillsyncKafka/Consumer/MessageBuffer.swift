import Dispatch
import Synchronization

/// Messages fetched by the polling thread and not yet handed to the application.
///
/// The polling thread pushes whole fetched batches and the reader takes whole batches, so the
/// lock is taken once per batch on each side, not once per message. The reader hands messages
/// out of its batch without locking; a revoke or a seek that drops buffered messages bumps a
/// generation, and the reader re-checks what it still holds against it before handing out more.
///
/// The polling thread stops fetching while the buffer is at capacity (the consumer's
/// back-pressure) and is woken as soon as the reader has taken half of it.
final class MessageBuffer: Sendable {
    typealias Batch = [KafkaConsumerMessage]
    typealias Waiter = CheckedContinuation<Result<Batch?, KafkaError>, Never>

    private struct State {
        var batches: [Batch] = []
        var batchesHead = 0
        var bufferedCount = 0
        var waiter: Waiter?
        var finished = false
        var failure: KafkaError?
        /// The polling thread is waiting for room.
        var fetcherWaiting = false
        /// The reader's current batch; its last `residual` messages are not handed out yet.
        var readerBatch: Batch = []
        var readerGeneration: UInt64 = 0
        /// Partitions whose buffered messages were dropped from an offset on (`Int64.min`: all of
        /// them), by the generation that dropped them.
        var removals: [(generation: UInt64, partitions: [KafkaTopicPartition: Int64])] = []
    }

    private let state = Mutex(State())
    private let generation = Atomic<UInt64>(0)
    private let residual = Atomic<Int>(0)
    private let handedOut = Atomic<Int>(0)
    private let roomAvailable = DispatchSemaphore(value: 0)
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    /// Messages fetched and not yet handed out.
    var count: Int { state.withLock { $0.bufferedCount } + residual.load(ordering: .relaxed) }

    /// Messages handed out and not yet marked done.
    var outstandingCount: Int { handedOut.load(ordering: .relaxed) }

    func messagesFinished(_ count: Int) {
        handedOut.subtract(count, ordering: .relaxed)
    }

    // MARK: - Polling thread side

    /// Blocks the calling (polling) thread until the reader made room, or `timeout` passed.
    /// Returns the free room.
    func waitForRoom(timeout: Duration) -> Int {
        let buffered = state.withLock { state in
            state.fetcherWaiting = state.bufferedCount >= capacity && !state.finished
            return state.fetcherWaiting ? nil : state.bufferedCount
        }
        if let buffered { return capacity - buffered }
        let (seconds, attoseconds) = timeout.components
        _ = roomAvailable.wait(timeout: .now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)))
        return max(0, capacity - state.withLock { $0.bufferedCount })
    }

    /// Appends a batch; false (and nothing kept) once the buffer is finished.
    @discardableResult
    func push(_ batch: Batch) -> Bool {
        guard !batch.isEmpty else { return true }
        let (accepted, waiter) = state.withLock { state -> (Bool, Waiter?) in
            guard !state.finished else { return (false, nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                Self.adopt(batch, into: &state, residual: residual, generation: generation)
                return (true, waiter)
            }
            state.batches.append(batch)
            state.bufferedCount += batch.count
            return (true, nil)
        }
        waiter?.resume(returning: .success(batch))
        return accepted
    }

    /// Drops buffered messages of partitions that are no longer ours (revoked).
    func removeAll(in partitions: Set<KafkaTopicPartition>) {
        remove(Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64.min) }))
    }

    /// Drops buffered messages of a partition from `offset` on (it was sought back to `offset`).
    func removeAll(in partition: KafkaTopicPartition, from offset: Int64) {
        remove([partition: offset])
    }

    private static func isRemoved(_ message: KafkaConsumerMessage, by removed: [KafkaTopicPartition: Int64]) -> Bool {
        guard let from = removed[message.topicPartition] else { return false }
        return message.offset >= from
    }

    private func remove(_ partitions: [KafkaTopicPartition: Int64]) {
        guard !partitions.isEmpty else { return }
        let wake = state.withLock { state in
            var kept: [Batch] = []
            for batch in state.batches[state.batchesHead...] {
                let remaining = batch.filter { !Self.isRemoved($0, by: partitions) }
                if !remaining.isEmpty { kept.append(remaining) }
            }
            state.batches = kept
            state.batchesHead = 0
            state.bufferedCount = kept.reduce(0) { $0 + $1.count }
            let next = generation.add(1, ordering: .releasing).newValue
            state.removals.append((next, partitions))
            return Self.shouldWakeFetcher(&state, capacity: capacity)
        }
        if wake { roomAvailable.signal() }
    }

    /// Ends the sequence: messages not handed out are dropped (they will be read again by
    /// whoever owns their partition next) and the reader gets nil, or `failure`.
    func finish(failure: KafkaError? = nil) {
        let waiter = state.withLock { state -> Waiter? in
            state.finished = true
            state.failure = state.failure ?? failure
            state.batches = []
            state.batchesHead = 0
            state.bufferedCount = 0
            generation.add(1, ordering: .releasing)
            if state.fetcherWaiting {
                state.fetcherWaiting = false
                roomAvailable.signal()
            }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: failure.map { .failure($0) } ?? .success(nil))
    }

    // MARK: - Reader side

    /// What an iterator holds: a batch, how far it got, and the generation it was checked at.
    struct Cursor {
        var batch: Batch = []
        var index = 0
        var generation: UInt64 = 0
    }

    /// The next message for the one reader. Almost always served from the cursor's batch with
    /// two uncontended atomic operations and no lock.
    func next(_ cursor: inout Cursor) async throws(KafkaError) -> KafkaConsumerMessage? {
        while true {
            if cursor.index < cursor.batch.count {
                if generation.load(ordering: .acquiring) == cursor.generation {
                    let message = cursor.batch[cursor.index]
                    cursor.index += 1
                    residual.subtract(1, ordering: .relaxed)
                    handedOut.add(1, ordering: .relaxed)
                    return message
                }
                try revalidate(&cursor)
                continue
            }
            let taken = try await takeBatch()
            guard let taken else { return nil }
            cursor = taken
        }
    }

    /// At least one message (waiting for it), plus whatever else the reader's current batch
    /// holds, up to `limit`; empty when the sequence ended. A slice of the fetched batch: no
    /// message is copied (copying cost a reference-count update per message on a cache line
    /// the polling thread wrote).
    func next(_ cursor: inout Cursor, upTo limit: Int) async throws(KafkaError) -> ArraySlice<KafkaConsumerMessage> {
        while true {
            if let messages = try take(from: &cursor, upTo: limit) { return messages }
            guard let taken = try await takeBatch() else { return [] }
            cursor = taken
        }
    }

    /// What is already buffered, up to `limit`, without waiting: empty when nothing is (or the
    /// sequence ended). For a reader that tops up a batch it already holds.
    func nextIfAvailable(_ cursor: inout Cursor, upTo limit: Int) throws(KafkaError) -> ArraySlice<KafkaConsumerMessage> {
        while true {
            if let messages = try take(from: &cursor, upTo: limit) { return messages }
            guard let ready = takeBufferedBatch() else { return [] }
            cursor = ready
        }
    }

    /// Up to `limit` messages still in the cursor's batch (nil when it has none left), after
    /// dropping those of partitions removed since the cursor was checked.
    private func take(from cursor: inout Cursor, upTo limit: Int) throws(KafkaError) -> ArraySlice<KafkaConsumerMessage>? {
        while cursor.index < cursor.batch.count {
            if generation.load(ordering: .acquiring) == cursor.generation {
                let end = min(cursor.batch.count, cursor.index + limit)
                let messages = cursor.batch[cursor.index..<end]
                cursor.index = end
                residual.subtract(messages.count, ordering: .relaxed)
                handedOut.add(messages.count, ordering: .relaxed)
                return messages
            }
            try revalidate(&cursor)
        }
        return nil
    }

    /// A new iterator continues where the previous one stopped (a `for` loop left with `break`).
    func resumeCursor() -> Cursor {
        state.withLock { state in
            let remaining = residual.load(ordering: .relaxed)
            return Cursor(batch: state.readerBatch, index: state.readerBatch.count - remaining,
                          generation: state.readerGeneration)
        }
    }

    /// Drops what the cursor still holds of partitions removed since it was checked.
    private func revalidate(_ cursor: inout Cursor) throws(KafkaError) {
        let result = state.withLock { state -> Result<Cursor, KafkaError> in
            if state.finished {
                residual.store(0, ordering: .relaxed)
                state.readerBatch = []
                return state.failure.map { .failure($0) } ?? .success(Cursor(generation: generation.load(ordering: .acquiring)))
            }
            let removed = state.removals.filter { $0.generation > cursor.generation }
                .reduce(into: [KafkaTopicPartition: Int64]()) { $0.merge($1.partitions) { min($0, $1) } }
            let kept = Array(cursor.batch[cursor.index...].filter { !Self.isRemoved($0, by: removed) })
            let current = generation.load(ordering: .acquiring)
            state.readerBatch = kept
            state.readerGeneration = current
            state.removals.removeAll { $0.generation <= current }
            residual.store(kept.count, ordering: .relaxed)
            return .success(Cursor(batch: kept, index: 0, generation: current))
        }
        cursor = try result.get()
    }

    /// Takes the oldest buffered batch if there is one, without waiting (a finished buffer holds none).
    private func takeBufferedBatch() -> Cursor? {
        let (ready, wake) = state.withLock { state -> (Cursor?, Bool) in
            guard state.batchesHead < state.batches.count else { return (nil, false) }
            let batch = Self.dequeue(&state)
            Self.adopt(batch, into: &state, residual: residual, generation: generation)
            return (Cursor(batch: batch, index: 0, generation: state.readerGeneration),
                    Self.shouldWakeFetcher(&state, capacity: capacity))
        }
        if wake { roomAvailable.signal() }
        return ready
    }

    /// Takes the oldest buffered batch, waiting for one if none is there.
    private func takeBatch() async throws(KafkaError) -> Cursor? {
        if let ready = takeBufferedBatch() { return ready }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Waiter) in
                let immediate = state.withLock { state -> Result<Batch?, KafkaError>? in
                    if state.batchesHead < state.batches.count {
                        // The buffer was empty a moment ago, so no fetcher waits for room.
                        let batch = Self.dequeue(&state)
                        Self.adopt(batch, into: &state, residual: residual, generation: generation)
                        return .success(batch)
                    }
                    if state.finished {
                        return state.failure.map { .failure($0) } ?? .success(nil)
                    }
                    if Task.isCancelled { return .success(nil) }
                    precondition(state.waiter == nil, "a consumer's messages can be iterated by one task at a time")
                    state.waiter = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: .success(nil))
        }
        guard let batch = try result.get() else { return nil }
        // The batch was adopted under the lock at the generation current then.
        return Cursor(batch: batch, index: 0, generation: state.withLock { $0.readerGeneration })
    }

    private static func dequeue(_ state: inout State) -> Batch {
        let batch = state.batches[state.batchesHead]
        state.batches[state.batchesHead] = []
        state.batchesHead += 1
        state.bufferedCount -= batch.count
        if state.batchesHead > 64, state.batchesHead * 2 > state.batches.count {
            state.batches.removeFirst(state.batchesHead)
            state.batchesHead = 0
        }
        return batch
    }

    /// Makes `batch` the reader's current batch (with the lock held).
    private static func adopt(_ batch: Batch, into state: inout State, residual: borrowing Atomic<Int>,
                              generation: borrowing Atomic<UInt64>) {
        state.readerBatch = batch
        state.readerGeneration = generation.load(ordering: .acquiring)
        residual.store(batch.count, ordering: .relaxed)
        let current = state.readerGeneration
        state.removals.removeAll { $0.generation <= current }
    }

    /// Called with the lock held after messages were taken or dropped: wakes a waiting fetcher.
    private static func shouldWakeFetcher(_ state: inout State, capacity: Int) -> Bool {
        guard state.fetcherWaiting, state.bufferedCount <= capacity / 2 else { return false }
        state.fetcherWaiting = false
        return true
    }
}
