import Foundation
import Synchronization

/// A dedicated OS thread that repeatedly runs one blocking librdkafka call (`rd_kafka_poll`,
/// `rd_kafka_consumer_poll`) until asked to stop, then runs a final step (flush, close).
///
/// librdkafka delivers callbacks only from inside those calls, and each blocks up to its
/// timeout; running them here keeps them off Swift's cooperative thread pool.
final class PollingThread: Sendable {
    private let stopRequested = Atomic<Bool>(false)
    private let completion = Mutex<(finished: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    private let name: String
    private let iteration: @Sendable () -> Void
    private let finale: @Sendable () -> Void
    private let started = Atomic<Bool>(false)

    init(name: String, iteration: @escaping @Sendable () -> Void, finale: @escaping @Sendable () -> Void = {}) {
        self.name = name
        self.iteration = iteration
        self.finale = finale
    }

    var isStopRequested: Bool { stopRequested.load(ordering: .acquiring) }

    /// Starts the thread once; later calls do nothing.
    func start() {
        guard started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return
        }
        let thread = Thread { [self] in
            while !self.isStopRequested {
                self.iteration()
            }
            self.finale()
            let waiters = self.completion.withLock { state in
                state.finished = true
                defer { state.waiters = [] }
                return state.waiters
            }
            waiters.forEach { $0.resume() }
        }
        thread.name = name
        thread.start()
    }

    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
    }

    /// Asks the loop to stop and waits for its final step to finish.
    func stop() async {
        requestStop()
        if !started.load(ordering: .acquiring) {
            // Never started: there is no loop to wait for, but the final step still must run.
            if started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
                finale()
                completion.withLock { $0.finished = true }
            }
        }
        await waitUntilFinished()
    }

    func waitUntilFinished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = completion.withLock { state in
                if !state.finished { state.waiters.append(continuation) }
                return state.finished
            }
            if finished { continuation.resume() }
        }
    }
}
