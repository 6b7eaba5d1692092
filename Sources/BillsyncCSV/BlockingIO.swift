import Dispatch

/// Runs blocking file work (hashing a file, reading a batch of rows) on a queue of its own, so
/// a large export never holds one of Swift's cooperative threads, of which a 2-core machine has two.
public enum BlockingIO {
    private static let queue = DispatchQueue(label: "billsync.blocking-io", attributes: .concurrent)

    public static func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Swift.Result { try body() }) }
        }
    }
}
