import Synchronization

/// Messages fetched by the polling thread and not yet taken by the application.
///
/// One reader at a time (the consumer's `messages` sequence). The polling thread stops fetching
/// while the buffer is at capacity, which is the consumer's back-pressure.
final class MessageBuffer: Sendable {
    private struct State {
        var messages: [KafkaConsumerMessage] = []
        var head = 0
        var waiter: CheckedContinuation<Result<KafkaConsumerMessage?, KafkaError>, Never>?
        var finished = false
        var failure: KafkaError?

        var count: Int { messages.count - head }
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    var count: Int { state.withLock { $0.count } }
    var isFull: Bool { count >= capacity }

    func push(contentsOf batch: [KafkaConsumerMessage]) {
        guard !batch.isEmpty else { return }
        let handOver = state.withLock { state -> (CheckedContinuation<Result<KafkaConsumerMessage?, KafkaError>, Never>, KafkaConsumerMessage)? in
            guard !state.finished else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                state.messages.append(contentsOf: batch.dropFirst())
                return (waiter, batch[0])
            }
            state.messages.append(contentsOf: batch)
            return nil
        }
        if let (waiter, first) = handOver { waiter.resume(returning: .success(first)) }
    }

    /// Removes buffered messages of partitions that are no longer ours.
    func removeAll(in partitions: Set<KafkaTopicPartition>) {
        guard !partitions.isEmpty else { return }
        state.withLock { state in
            let kept = state.messages[state.head...].filter { !partitions.contains($0.topicPartition) }
            state.messages = Array(kept)
            state.head = 0
        }
    }

    /// Ends the sequence: buffered messages are dropped (they were never handed out, so they
    /// will be read again by whoever owns their partition next) and readers get nil, or `failure`.
    func finish(failure: KafkaError? = nil) {
        let waiter = state.withLock { state -> CheckedContinuation<Result<KafkaConsumerMessage?, KafkaError>, Never>? in
            state.finished = true
            state.failure = state.failure ?? failure
            state.messages = []
            state.head = 0
            defer { state.waiter = nil }
            return state.waiter
        }
        if let waiter {
            waiter.resume(returning: failure.map { .failure($0) } ?? .success(nil))
        }
    }

    func next() async throws(KafkaError) -> KafkaConsumerMessage? {
        // Fast path, taken for almost every message under load: no continuation, no handler.
        let ready = state.withLock { state -> KafkaConsumerMessage? in
            guard state.head < state.messages.count else { return nil }
            defer { Self.advance(&state) }
            return state.messages[state.head]
        }
        if let ready { return ready }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate = state.withLock { state -> Result<KafkaConsumerMessage?, KafkaError>? in
                    if state.head < state.messages.count {
                        defer { Self.advance(&state) }
                        return .success(state.messages[state.head])
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
        return try result.get()
    }

    /// Moves past the first message, compacting the storage now and then.
    private static func advance(_ state: inout State) {
        state.head += 1
        if state.head > 4096, state.head * 2 > state.messages.count {
            state.messages.removeFirst(state.head)
            state.head = 0
        }
    }
}
