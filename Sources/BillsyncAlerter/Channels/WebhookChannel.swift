import Foundation

/// Posts every notification as a `WebhookPayload` (version 1) JSON document: for a chat bridge,
/// a ticketing system or anything of the operator's own.
public struct WebhookChannel: AlertChannel {
    public let name: String
    private let url: URL
    private let poster: HTTPPoster

    /// - Parameters:
    ///   - url: the receiver; a secret (it is never logged).
    ///   - name: the channel's name in metrics and logs.
    ///   - poster: the HTTP client (its timeout).
    public init(url: URL, name: String = "webhook", poster: HTTPPoster = HTTPPoster()) {
        self.url = url
        self.name = name
        self.poster = poster
    }

    public func deliver(_ notification: AlertNotification) async throws {
        let body: Data
        do {
            body = try WebhookPayload(notification: notification).json()
        } catch {
            throw ChannelFailure(retryable: false, reason: "the notification could not be encoded: \(error)")
        }
        try await poster.post(json: body, to: url)
    }
}
