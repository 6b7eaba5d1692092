import Dispatch

/// Runs work that blocks (a librdkafka call that waits on the broker, a SQLite statement waiting
/// on the disk or a lock, an SMTP conversation, reading a large file) on a concurrent queue of
/// its own, never on Swift's cooperative pool: that pool has one thread per core (two here), so
/// one blocked call would halve the whole process's concurrency. The one place every subsystem
/// hands its blocking work to.
public enum BlockingWork {
    private static let queue = DispatchQueue(label: "billsync.blocking-work", attributes: .concurrent)

    /// `body`'s result, or what it threw, with its error type kept.
    public static func run<Result: Sendable, Failure: Error>(
        _ body: @escaping @Sendable () throws(Failure) -> Result
    ) async throws(Failure) -> Result {
        let outcome: Swift.Result<Result, Failure> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(Failure) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try outcome.get()
    }
}
