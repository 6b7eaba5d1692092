/// What went wrong talking to Salesforce, sorted by what the loader does about it.
public enum SalesforceError: Error, Sendable, CustomStringConvertible {
    /// The org's daily API allocation is used up (`REQUEST_LIMIT_EXCEEDED`, "TotalRequests Limit
    /// exceeded"): pause and alert, do not retry; it frees up only as the rolling 24 hours move on.
    case limitExceeded(String)
    /// Too many long-running requests in the org at once (`REQUEST_LIMIT_EXCEEDED`,
    /// "ConcurrentRequests … Limit exceeded"): a brief backoff and the same call again; no pause,
    /// no alert, nothing used up.
    case concurrencyLimitExceeded(String)
    /// 5xx, timeouts, a dropped connection: worth retrying with backoff.
    case transient(String)
    /// Login refused, a malformed request: retrying will not help; a person must look.
    case permanent(code: String, message: String)
    /// Missing or unreadable settings, found at startup.
    case configuration(String)
    /// A Bulk API job ended Failed or Aborted: what it processed is in the outcome; the rest
    /// was not processed.
    case bulkJobEnded(SalesforceClient.BulkJobEnd)

    public var description: String {
        switch self {
        case let .limitExceeded(message): "Salesforce API limit: \(message)"
        case let .concurrencyLimitExceeded(message): "Salesforce concurrent request limit: \(message)"
        case let .transient(message): "Salesforce unavailable: \(message)"
        case let .permanent(code, message): "Salesforce refused: \(code): \(message)"
        case let .configuration(message): "Salesforce configuration: \(message)"
        case let .bulkJobEnded(end): "Salesforce bulk job \(end.job) ended \(end.state): \(end.errorMessage ?? "no reason given")"
        }
    }

    /// Which of the two `REQUEST_LIMIT_EXCEEDED` limits a refusal's message names.
    static func requestLimit(_ message: String) -> SalesforceError {
        message.contains("Concurrent") ? .concurrencyLimitExceeded(message) : .limitExceeded(message)
    }
}
