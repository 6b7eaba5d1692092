import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Posts a JSON document and classifies the answer the way every HTTP channel needs it: 2xx
/// went through; 429, 5xx and a failed connection may pass later (with the receiver's
/// `Retry-After`); any other answer needs a person. The only place the channels touch
/// URLSession, so moving to another HTTP client changes this type alone.
///
/// A webhook URL is a secret (whoever has it can post to the channel), and so is a routing key:
/// a failure's reason says what was answered, never where it was sent, and the part of the
/// receiver's answer it quotes has both removed.
public struct HTTPPoster: Sendable {
    /// How long one request may take, connecting included.
    public let timeout: Duration
    private let session: URLSession

    public init(timeout: Duration = .seconds(30), session: URLSession = .shared) {
        self.timeout = timeout
        self.session = session
    }

    /// Posts `body` (JSON) to `url`. Returns the status code of a 2xx answer; throws
    /// `ChannelFailure` otherwise. `secrets`: strings besides the URL that must not appear in
    /// a failure's reason (a routing key in the body).
    @discardableResult
    public func post(json body: Data, to url: URL, secrets: [String] = []) async throws(ChannelFailure) -> Int {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json; charset=utf-8", forHTTPHeaderField: "Content-Type")
        request.setValue("billsync-alerter", forHTTPHeaderField: "User-Agent")
        request.httpBody = body
        request.timeoutInterval = timeout.timeInterval
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch let error as URLError {
            throw ChannelFailure(retryable: true, reason: Self.connectionFailure(error.code))
        } catch {
            // Cancellation, or an error URLSession does not classify: try again later.
            throw ChannelFailure(retryable: true, reason: "the request failed (\(type(of: error)))")
        }
        guard let http = response as? HTTPURLResponse else {
            throw ChannelFailure(retryable: true, reason: "the answer was not HTTP")
        }
        let status = http.statusCode
        if (200..<300).contains(status) { return status }
        let quoted = ChannelRedaction(url: url, secrets: secrets).quote(data)
        let reason = "answered HTTP \(status)" + (quoted.isEmpty ? "" : ": \(quoted)")
        if status == 429 || status >= 500 {
            throw ChannelFailure(retryable: true, retryAfter: Self.retryAfter(http.value(forHTTPHeaderField: "Retry-After")),
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

    /// Words for a failed connection: `URLError`'s own description can name the URL.
    static func connectionFailure(_ code: URLError.Code) -> String {
        switch code {
        case .timedOut: "the request timed out"
        case .cannotConnectToHost: "could not connect to the receiver"
        case .cannotFindHost, .dnsLookupFailed: "could not resolve the receiver's host"
        case .networkConnectionLost: "the connection was lost"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
             .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            "the TLS handshake failed"
        case .notConnectedToInternet: "no network"
        case .cancelled: "the request was cancelled"
        default: "the request failed (URLError \(code.rawValue))"
        }
    }
}
