import Dispatch

/// Runs librdkafka calls that block (sync commit, `committed`, metadata, seek, admin results)
/// on a dedicated queue, never on Swift's cooperative thread pool.
///
/// Swift's pool has as many threads as cores (two here): one blocked `rd_kafka_commit` would
/// halve the whole process's concurrency. A concurrent dispatch queue keeps those waits apart.
enum BlockingCalls {
    private static let queue = DispatchQueue(
        label: "billsync.kafka.blocking-calls",
        attributes: .concurrent
    )

    static func run<Result: Sendable>(
        _ body: @escaping @Sendable () throws(KafkaError) -> Result
    ) async throws(KafkaError) -> Result {
        let outcome: Swift.Result<Result, KafkaError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(KafkaError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try outcome.get()
    }
}
