/// What went wrong talking to Salesforce, sorted by what the loader does about it.
public enum SalesforceError: Error, Sendable, CustomStringConvertible {
    /// The org refuses API calls for now (`REQUEST_LIMIT_EXCEEDED`): pause, do not retry.
    case limitExceeded(String)
    /// 5xx, timeouts, a dropped connection: worth retrying with backoff.
    case transient(String)
    /// Login refused, a malformed request: retrying will not help; a person must look.
    case permanent(code: String, message: String)
    /// Missing or unreadable settings, found at startup.
    case configuration(String)

    public var description: String {
        switch self {
        case let .limitExceeded(message): "Salesforce API limit: \(message)"
        case let .transient(message): "Salesforce unavailable: \(message)"
        case let .permanent(code, message): "Salesforce refused: \(code): \(message)"
        case let .configuration(message): "Salesforce configuration: \(message)"
        }
    }
}
