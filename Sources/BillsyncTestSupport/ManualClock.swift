import Synchronization

/// A clock that moves only when a test advances it, for schedules, backoff and timers tested in
/// milliseconds instead of waited out. A sleeper wakes when `advance` reaches its deadline (or is
/// cancelled); `waitForSleeps` lets a test wait for the signal that the code under test went to
/// sleep, instead of guessing with a real sleep.
public final class ManualClock: Clock, Sendable {
    public struct Instant: InstantProtocol {
        public let offset: Duration

        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Int: Sleeper] = [:]
        var cancelledBeforeSleeping: Set<Int> = []
        var nextID = 0
        /// Sleeps started so far, and the tests waiting for a count of them.
        var sleepsStarted = 0
        var sleepWaiters: [(id: Int, count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var cancelledWaiters: Set<Int> = []
    }

    private let state = Mutex(State())

    public init() {}

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .zero }

    /// Sleeps started so far (each `sleep` call counts once).
    public var sleepsStarted: Int { state.withLock { $0.sleepsStarted } }
    /// Sleepers not woken yet.
    public var sleeping: Int { state.withLock { $0.sleepers.count } }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (resume, waiters) = state.withLock { state -> (Result<Void, any Error>?, [CheckedContinuation<Void, Never>]) in
                    state.sleepsStarted += 1
                    let started = state.sleepsStarted
                    let ready = state.sleepWaiters.filter { $0.count <= started }.map(\.continuation)
                    state.sleepWaiters.removeAll { $0.count <= started }
                    if state.cancelledBeforeSleeping.remove(id) != nil { return (.failure(CancellationError()), ready) }
                    if deadline <= state.now { return (.success(()), ready) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return (nil, ready)
                }
                for waiter in waiters { waiter.resume() }
                if let resume { continuation.resume(with: resume) }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let sleeper = state.sleepers.removeValue(forKey: id) else {
                    state.cancelledBeforeSleeping.insert(id)
                    return nil
                }
                return sleeper
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline it reached.
    public func advance(by duration: Duration) {
        let woken = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return Array(due.values)
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }

    /// Returns once `count` sleeps have started in all: the code under test reached its pause
    /// (or the waiting task was cancelled: a helper that advances the clock for each sleep ends
    /// with the test).
    public func waitForSleeps(_ count: Int) async {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.sleepsStarted >= count || state.cancelledWaiters.remove(id) != nil { return true }
                    state.sleepWaiters.append((id, count, continuation))
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let index = state.sleepWaiters.firstIndex(where: { $0.id == id }) { return state.sleepWaiters.remove(at: index).continuation }
                state.cancelledWaiters.insert(id)
                return nil
            }
            waiter?.resume()
        }
    }
}
