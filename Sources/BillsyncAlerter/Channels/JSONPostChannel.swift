import Foundation

/// A notification rendered as one JSON document.
public protocol JSONNotificationBody: Sendable {
    init(notification: AlertNotification)
    func json() throws -> Data
}

extension WebhookPayload: JSONNotificationBody {}
extension SlackMessage: JSONNotificationBody {}

/// Posts every notification (opened, grew, updated, reminder, resolved) as one JSON document to
/// a URL that is itself the secret (never logged): the webhook channel (`WebhookPayload`, for a
/// chat bridge, a ticketing system or anything of the operator's own) and Slack's incoming
/// webhook (`SlackMessage`, Block Kit with a plain-text fallback) differ only in the document.
public struct JSONPostChannel<Body: JSONNotificationBody>: AlertChannel {
    public let name: String
    private let url: URL
    private let poster: HTTPPoster

    init(posting url: URL, name: String, poster: HTTPPoster) {
        self.url = url
        self.name = name
        self.poster = poster
    }

    public func deliver(_ notification: AlertNotification) async throws {
        let body: Data
        do {
            body = try Body(notification: notification).json()
        } catch {
            throw ChannelFailure(retryable: false, reason: "the \(name) message could not be encoded: \(error)")
        }
        try await poster.post(json: body, to: url)
    }
}

public typealias WebhookChannel = JSONPostChannel<WebhookPayload>
public typealias SlackChannel = JSONPostChannel<SlackMessage>

extension JSONPostChannel where Body == WebhookPayload {
    /// - Parameters:
    ///   - url: the receiver; a secret (it is never logged).
    ///   - name: the channel's name in metrics and logs.
    ///   - poster: the HTTP client (its timeout).
    public init(url: URL, name: String = "webhook", poster: HTTPPoster = HTTPPoster()) {
        self.init(posting: url, name: name, poster: poster)
    }
}

extension JSONPostChannel where Body == SlackMessage {
    /// - Parameters:
    ///   - webhookURL: the incoming webhook (`https://hooks.slack.com/services/…`); a secret, never logged.
    ///   - name: the channel's name in metrics and logs.
    ///   - poster: the HTTP client (its timeout).
    public init(webhookURL: URL, name: String = "slack", poster: HTTPPoster = HTTPPoster()) {
        self.init(posting: webhookURL, name: name, poster: poster)
    }
}
