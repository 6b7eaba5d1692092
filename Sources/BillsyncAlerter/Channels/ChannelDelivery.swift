import BillsyncRuntime
import Logging
import Metrics

/// How one delivery ended.
public enum DeliveryOutcome: Sendable, Hashable {
    /// The channel took the notification, on this attempt.
    case delivered(attempts: Int)
    /// It did not, after this many attempts (or the task was cancelled): the caller keeps the
    /// notification pending and tries again later. `reason` never holds a URL or key.
    case failed(reason: String, attempts: Int)
    /// The receiver refused it for good (a 4xx other than 429, a 5xx mail reply): sending it
    /// again cannot help, a person must fix the channel's configuration.
    case refused(reason: String)

    public var isDelivered: Bool {
        if case .delivered = self { return true }
        return false
    }
}

/// Delivers one notification to one channel, retrying what may pass later with exponential
/// backoff (1 s, 2 s, 4 s … up to `maximumBackoff`, or the receiver's own `Retry-After`) on
/// the given clock, up to `maximumAttempts`; then gives up and says so. Every attempt that did
/// not go through is counted (`billsync_alert_deliveries_total{channel, outcome}` with outcome
/// `delivered`, `retried` or `failed`) and logged, without the channel's URL or key.
///
/// Cancelling the task stops a wait at once; the outcome is then `failed` (not counted as a
/// channel failure: nothing was wrong with the channel).
public struct ChannelDelivery: Sendable {
    public static let metricName = "billsync_alert_deliveries_total"

    public let maximumAttempts: Int
    public let initialBackoff: Duration
    public let maximumBackoff: Duration
    private let clock: WallClock
    private let logger: Logger
    private let metrics: (any MetricsFactory)?

    /// - Parameters:
    ///   - maximumAttempts: attempts in all, the first included (at least 1).
    ///   - initialBackoff: the wait after the first failure; doubled after each further one.
    ///   - maximumBackoff: the longest wait. A receiver asking for longer (`Retry-After`) ends
    ///     the delivery as failed at once, for the caller to try again later.
    ///   - clock: where the waits happen (`.system`; a test's manual clock).
    ///   - logger: for retries and failures.
    ///   - metrics: the metrics factory; the process's (`MetricsSystem.factory`) when nil.
    public init(maximumAttempts: Int = 5, initialBackoff: Duration = .seconds(1), maximumBackoff: Duration = .seconds(300),
                clock: WallClock = .system, logger: Logger, metrics: (any MetricsFactory)? = nil) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
    }

    public func deliver(_ notification: AlertNotification, to channel: some AlertChannel) async -> DeliveryOutcome {
        var metadata: Logger.Metadata = [
            ChannelLogKeys.channel: "\(channel.name)",
            ChannelLogKeys.group: "\(notification.groupKey)",
            ChannelLogKeys.status: "\(notification.status.rawValue)",
            ChannelLogKeys.reason: "\(notification.reason.rawValue)",
        ]
        var attempt = 0
        while true {
            attempt += 1
            metadata[ChannelLogKeys.attempts] = "\(attempt)"
            let failure: ChannelFailure
            do {
                try await channel.deliver(notification)
                count(channel, "delivered")
                if attempt > 1 { logger.info("alert delivered after \(attempt) attempts", metadata: metadata) }
                return .delivered(attempts: attempt)
            } catch let error as ChannelFailure {
                failure = error
            } catch {
                // A channel should throw ChannelFailure; another error's description could name
                // a URL, so only its type is told.
                failure = ChannelFailure(retryable: true, reason: "the channel failed with \(type(of: error))")
            }
            metadata[ChannelLogKeys.failure] = "\(failure.reason)"
            if Task.isCancelled { return stopped(failure, attempt, metadata) }

            let wait = failure.retryAfter ?? backoff(afterFailure: attempt)
            let giveUp: String? = if !failure.retryable {
                "not retryable"
            } else if attempt >= maximumAttempts {
                "no attempts left"
            } else if wait > maximumBackoff {
                "the receiver asked to wait \(wait), longer than \(maximumBackoff)"
            } else {
                nil
            }
            if let giveUp {
                count(channel, "failed")
                logger.error("alert delivery failed (\(giveUp)): \(failure.reason)", metadata: metadata)
                return failure.retryable ? .failed(reason: failure.reason, attempts: attempt) : .refused(reason: failure.reason)
            }
            count(channel, "retried")
            metadata[ChannelLogKeys.retryIn] = "\(wait)"
            logger.warning("alert delivery failed, retrying: \(failure.reason)", metadata: metadata)
            metadata[ChannelLogKeys.retryIn] = nil
            do {
                try await clock.sleep(for: wait)
            } catch {
                return stopped(failure, attempt, metadata)
            }
        }
    }

    /// The wait after the `failures`-th failure: `initialBackoff` doubled each time, capped.
    func backoff(afterFailure failures: Int) -> Duration {
        var wait = initialBackoff
        for _ in 1..<max(failures, 1) {
            wait *= 2
            if wait >= maximumBackoff { return maximumBackoff }
        }
        return min(wait, maximumBackoff)
    }

    private func stopped(_ failure: ChannelFailure, _ attempts: Int, _ metadata: Logger.Metadata) -> DeliveryOutcome {
        logger.info("alert delivery stopped: cancelled", metadata: metadata)
        return .failed(reason: "cancelled; last failure: \(failure.reason)", attempts: attempts)
    }

    private func count(_ channel: some AlertChannel, _ outcome: String) {
        let dimensions = [("channel", channel.name), ("outcome", outcome)]
        if let metrics {
            Counter(label: Self.metricName, dimensions: dimensions, factory: metrics).increment()
        } else {
            Counter(label: Self.metricName, dimensions: dimensions).increment()
        }
    }
}
