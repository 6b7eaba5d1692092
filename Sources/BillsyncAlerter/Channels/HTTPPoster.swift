import BillsyncHTTP
import Foundation

/// Posts a JSON document and classifies the answer the way every HTTP channel needs it: 2xx
/// went through; 429, 5xx and a failed connection may pass later (with the receiver's
/// `Retry-After`); any other answer needs a person. The only place the channels touch HTTP,
/// through the process's one client (`HTTPTransport`).
///
/// A webhook URL is a secret (whoever has it can post to the channel), and so is a routing key:
/// a failure's reason says what was answered, never where it was sent, and the part of the
/// receiver's answer it quotes has both removed.
public struct HTTPPoster: Sendable {
    /// How long one request may take, connecting included.
    public let timeout: Duration
    private let http: HTTPTransport

    public init(timeout: Duration = .seconds(30), http: HTTPTransport = .shared) {
        self.timeout = timeout
        self.http = http
    }

    /// Posts `body` (JSON) to `url`. Returns the status code of a 2xx answer; throws
    /// `ChannelFailure` otherwise. `secrets`: strings besides the URL that must not appear in
    /// a failure's reason (a routing key in the body).
    @discardableResult
    public func post(json body: Data, to url: URL, secrets: [String] = []) async throws(ChannelFailure) -> Int {
        try await exchange(json: body, with: url, secrets: secrets).status
    }

    /// Posts `body` (JSON) to `url` with extra `headers` (a bearer token, which counts among the
    /// secrets) and returns a 2xx answer whole, for an API whose answer says more (Slack's
    /// `ok` and message `ts`); throws `ChannelFailure` as `post` does.
    public func exchange(json body: Data, with url: URL, headers: [(String, String)] = [],
                         secrets: [String] = []) async throws(ChannelFailure) -> HTTPAnswer {
        let answer: HTTPAnswer
        do {
            answer = try await http.send("POST", url, headers: [("Content-Type", "application/json; charset=utf-8"), ("User-Agent", "billsync-alerter")] + headers,
                                         body: [UInt8](body), timeout: timeout)
        } catch {
            // Its reason names neither the URL nor what was sent.
            throw ChannelFailure(retryable: true, reason: error.reason)
        }
        let status = answer.status
        if (200..<300).contains(status) { return answer }
        let quoted = ChannelRedaction(url: url, secrets: secrets).quote(answer.data)
        let reason = "answered HTTP \(status)" + (quoted.isEmpty ? "" : ": \(quoted)")
        if status == 429 || status >= 500 {
            throw ChannelFailure(retryable: true, retryAfter: Self.retryAfter(answer.header("Retry-After")),
                                 reason: reason)
        }
        throw ChannelFailure(retryable: false, reason: reason)
    }

    /// `Retry-After` in seconds (the form Slack and most services send). An HTTP-date is not
    /// read: the backoff applies instead.
    static func retryAfter(_ value: String?) -> Duration? {
        guard let value, let seconds = Int(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 else { return nil }
        return .seconds(seconds)
    }
}
