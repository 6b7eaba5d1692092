import BillsyncHTTP
import Foundation

/// The OAuth session: logs in once, hands the same token to every call, and logs in again
/// before the session's lifetime runs out or once a call is answered `INVALID_SESSION_ID`.
/// An actor, so concurrent calls that find the token expired log in once, not once each.
public actor SalesforceSession {
    public struct Token: Sendable, Equatable {
        public let accessToken: String
        public let instanceURL: URL
        let obtainedAt: ContinuousClock.Instant
    }

    let loginURL: URL
    let credentials: SalesforceCredentials
    /// Salesforce does not say when a session ends (the org's timeout, 2 hours by default, counts
    /// from the last use); log in again before this much has passed.
    let refreshAfter: Duration
    /// The `aud` of a JWT assertion: https://login.salesforce.com, https://test.salesforce.com
    /// for sandboxes, or the org's My Domain.
    let audience: String
    private let signer: RS256Signer?
    private var token: Token?
    public private(set) var logins = 0
    /// Every call of the session and its clients goes through it: a worker passes its service
    /// group's (`WorkerContext.http`); a command or a test the process-wide `HTTPTransport.shared`.
    public nonisolated let http: HTTPTransport

    public init(loginURL: URL, credentials: SalesforceCredentials, audience: String = "https://login.salesforce.com",
                refreshAfter: Duration = .seconds(3_600), http: HTTPTransport = .shared) throws {
        try SalesforceLoginDomain.check(loginURL, for: credentials)
        self.http = http
        self.loginURL = loginURL
        self.audience = audience
        self.credentials = credentials
        self.refreshAfter = refreshAfter
        if case let .jwtBearer(_, _, key) = credentials {
            signer = try RS256Signer(privateKeyPEM: key)
        } else {
            signer = nil
        }
    }

    /// A valid token, logging in when there is none or it is due for renewal.
    public func current() async throws -> Token {
        if let token, ContinuousClock.now - token.obtainedAt < refreshAfter { return token }
        let fresh = try await login()
        token = fresh
        return fresh
    }

    /// Forgets `stale` after Salesforce refused it; a newer token obtained meanwhile is kept.
    public func invalidate(_ stale: Token) {
        if token == stale { token = nil }
    }

    private func login() async throws -> Token {
        var form: [(String, String)]
        switch credentials {
        case let .clientCredentials(clientID, clientSecret):
            form = [("grant_type", "client_credentials"), ("client_id", clientID), ("client_secret", clientSecret)]
        case let .jwtBearer(clientID, username, _):
            form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", try assertion(clientID: clientID, username: username))]
        }
        let answer: HTTPAnswer
        do {
            answer = try await http.send("POST", loginURL.appendingPathComponent("services/oauth2/token"),
                                         headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                         body: Array(form.map { "\($0.0)=\(Self.formEncode($0.1))" }.joined(separator: "&").utf8),
                                         timeout: .seconds(30))
        } catch {
            throw SalesforceError.transient("login: \(error)")
        }
        let status = answer.status
        let body = (try? JSONSerialization.jsonObject(with: answer.data)) as? [String: Any]
        guard status == 200, let accessToken = body?["access_token"] as? String,
              let instance = (body?["instance_url"] as? String).flatMap(URL.init(string:)) else {
            if status >= 500 || status == 0 { throw SalesforceError.transient("login answered \(status)") }
            // Salesforce's own error and description; never the credentials.
            throw SalesforceError.permanent(code: (body?["error"] as? String) ?? "login_failed",
                                            message: (body?["error_description"] as? String) ?? "login answered \(status)")
        }
        logins += 1
        return Token(accessToken: accessToken, instanceURL: instance, obtainedAt: .now)
    }

    private func assertion(clientID: String, username: String) throws -> String {
        guard let signer else { throw SalesforceError.configuration("no signing key") }
        let header = RS256Signer.base64URL(Array(#"{"alg":"RS256","typ":"JWT"}"#.utf8))
        let expiry = Int(Date().timeIntervalSince1970) + 180
        let claims = try JSONSerialization.data(withJSONObject: [
            "iss": clientID, "sub": username, "aud": audience,
            "exp": expiry,
        ], options: [.sortedKeys])
        let unsigned = "\(header).\(RS256Signer.base64URL(claims))"
        return "\(unsigned).\(RS256Signer.base64URL(try signer.sign(Array(unsigned.utf8))))"
    }

    static func formEncode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}
