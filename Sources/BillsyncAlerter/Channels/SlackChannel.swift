import Foundation

/// Posts every notification (opened, grew, updated, reminder, resolved) to a Slack incoming
/// webhook as a Block Kit message (`SlackMessage`) with a plain `text` fallback.
public struct SlackChannel: AlertChannel {
    public let name: String
    private let webhookURL: URL
    private let poster: HTTPPoster

    /// - Parameters:
    ///   - webhookURL: the incoming webhook (`https://hooks.slack.com/services/…`); a secret, never logged.
    ///   - name: the channel's name in metrics and logs.
    ///   - poster: the HTTP client (its timeout).
    public init(webhookURL: URL, name: String = "slack", poster: HTTPPoster = HTTPPoster()) {
        self.webhookURL = webhookURL
        self.name = name
        self.poster = poster
    }

    public func deliver(_ notification: AlertNotification) async throws {
        let body: Data
        do {
            body = try SlackMessage(notification: notification).json()
        } catch {
            throw ChannelFailure(retryable: false, reason: "the Slack message could not be encoded: \(error)")
        }
        try await poster.post(json: body, to: webhookURL)
    }
}
