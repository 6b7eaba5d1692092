import BillsyncHTTP
import Foundation
import Synchronization

/// Slack through its Web API with a bot token: one message per alert group, updated in place
/// (`chat.update`) as the group's count grows and when it resolves, so a channel shows one line
/// per root cause instead of one per notification. An incoming webhook (`SlackChannel`) can
/// only post new messages; this is the channel to use where a large run's updates would
/// otherwise flood the room.
///
/// The message's `ts` is kept per group in this process: after a restart, a group's next
/// notification posts a new message (and updates that one from then on). Slack answers HTTP 200
/// with `"ok": false` and an `error` for refusals; `ratelimited` is retried like a 429, a
/// message deleted meanwhile (`message_not_found`) is posted again, and anything else (a
/// revoked token, a channel the bot is not in) needs a person.
public final class SlackAPIChannel: AlertChannel {
    public static let defaultAPIURL = URL(string: "https://slack.com/api")!

    public let name: String
    private let token: String
    private let channel: String
    private let apiURL: URL
    private let poster: HTTPPoster
    /// Each group's message: where Slack put it (channel id and `ts`).
    private let messages = Mutex<[String: (channel: String, ts: String)]>([:])

    /// - Parameters:
    ///   - token: the bot token (`xoxb-…`) with `chat:write`; a secret, never logged.
    ///   - channel: the channel id or name to post in.
    ///   - apiURL: Slack's Web API base (a test's receiver).
    public init(token: String, channel: String, apiURL: URL = SlackAPIChannel.defaultAPIURL, name: String = "slack",
                poster: HTTPPoster = HTTPPoster()) {
        self.token = token
        self.channel = channel
        self.apiURL = apiURL
        self.name = name
        self.poster = poster
    }

    public func deliver(_ notification: AlertNotification) async throws {
        let message = SlackMessage(notification: notification)
        if let posted = messages.withLock({ $0[notification.groupKey] }) {
            do {
                _ = try await call("chat.update", message, members: ["channel": posted.channel, "ts": posted.ts])
                if notification.status == .resolved { messages.withLock { $0[notification.groupKey] = nil } }
                return
            } catch let failure as ChannelFailure where failure.reason.contains("message_not_found") {
                messages.withLock { $0[notification.groupKey] = nil }
            }
        }
        let answer = try await call("chat.postMessage", message, members: ["channel": channel])
        guard notification.status == .firing, let ts = answer["ts"] as? String else { return }
        let postedIn = answer["channel"] as? String ?? channel
        messages.withLock { $0[notification.groupKey] = (postedIn, ts) }
    }

    /// One Web API method; its JSON answer when Slack said `ok`.
    private func call(_ method: String, _ message: SlackMessage, members: [String: String]) async throws -> [String: Any] {
        let body: Data
        do {
            body = try message.json(adding: members)
        } catch {
            throw ChannelFailure(retryable: false, reason: "the \(name) message could not be encoded: \(error)")
        }
        let answer = try await poster.exchange(json: body, with: apiURL.appendingPathComponent(method),
                                               headers: [("Authorization", "Bearer \(token)")], secrets: [token])
        let document = (try? JSONSerialization.jsonObject(with: answer.data)) as? [String: Any] ?? [:]
        if document["ok"] as? Bool == true { return document }
        let error = document["error"] as? String ?? "an answer without ok"
        throw ChannelFailure(retryable: error == "ratelimited" || error == "internal_error" || error == "service_unavailable",
                             reason: "Slack \(method) answered \(error)")
    }
}
