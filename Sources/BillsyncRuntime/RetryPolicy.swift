/// How often and how long a transient failure is retried before it is dead-lettered.
///
/// First a few quick attempts in process (a lock released, a 503 gone), each after a jittered
/// backoff; then the message moves to the stage's retry topics, one per entry of `tiers`, where
/// it waits that long without holding up anything else; after the last tier it is dead-lettered.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in process, the first one included.
    public var inProcessAttempts: Int = 3
    public var initialBackoff: Duration = .milliseconds(200)
    public var maximumBackoff: Duration = .seconds(5)
    /// The wait in each retry topic: `<stage>.retry.1`, `<stage>.retry.2`, ...
    public var tiers: [Duration] = [.seconds(30), .seconds(300)]

    public init() {}

    /// "Full jitter": a random wait up to an exponentially growing cap, so workers that failed
    /// together do not retry together.
    public func backoff(afterAttempt attempt: Int, using random: inout some RandomNumberGenerator) -> Duration {
        let cap = min(maximumBackoff, initialBackoff * (1 << min(max(attempt - 1, 0), 20)))
        let milliseconds = max(1, Int(cap.components.seconds * 1000 + cap.components.attoseconds / 1_000_000_000_000_000))
        return .milliseconds(Int.random(in: 0...milliseconds, using: &random))
    }

    /// The longest a transient failure can hold up the messages behind it in its partition.
    public var inProcessBudget: Duration {
        var total = Duration.zero
        for attempt in 1..<max(inProcessAttempts, 1) {
            total += min(maximumBackoff, initialBackoff * (1 << min(attempt - 1, 20)))
        }
        return total
    }
}
