import Dispatch
import Synchronization

/// Runs the jobs of the tasks started on it one at a time and tells when none is left to run.
/// A task that ran here and has nothing queued is suspended, waiting for whatever will wake it:
/// the signal a test needs before it acts on the other side ("the reader waits; now push"),
/// where a sleep would only make it likely that the other side got there first.
public final class SuspensionWatchingExecutor: TaskExecutor, Sendable {
    private let queue = DispatchQueue(label: "billsync.tests.suspension-watching")
    private let jobs = Mutex<(queued: Int, ran: Int)>((0, 0))

    public init() {}

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.queued += 1 }
        queue.async {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
            self.jobs.withLock { $0.queued -= 1; $0.ran += 1 }
        }
    }

    /// Whether a task ran here and now has nothing to run: it is suspended (or has ended).
    public var isIdle: Bool { jobs.withLock { $0.ran > 0 && $0.queued == 0 } }
}
