import Foundation

/// Where notifications go: a webhook, Slack, PagerDuty, email, the log. A channel formats and
/// sends one notification; it does not retry by itself: `ChannelDelivery` retries it with
/// backoff and keeps it pending until it went through.
public protocol AlertChannel: Sendable {
    /// Names the channel in metrics, logs and the alerter's state (`slack`, `pagerduty`, ...).
    var name: String { get }
    /// Sends one notification. Throws `ChannelFailure`.
    func deliver(_ notification: AlertNotification) async throws
}

/// Why a channel did not take a notification.
public struct ChannelFailure: Error, Sendable, CustomStringConvertible {
    /// Whether sending it again may work (5xx, 429, a refused connection), and when to try.
    public var retryable: Bool
    /// The receiver's own wait (HTTP `Retry-After`), when it said one.
    public var retryAfter: Duration?
    /// For logs: never contains the channel's URL or key.
    public var reason: String

    public init(retryable: Bool, retryAfter: Duration? = nil, reason: String) {
        self.retryable = retryable
        self.retryAfter = retryAfter
        self.reason = reason
    }

    public var description: String { reason }
}
