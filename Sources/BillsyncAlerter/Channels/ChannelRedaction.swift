import Foundation

/// Removes a channel's secrets from text bound for a log line or a failure's reason: the
/// receiver's URL (whole, its path and query, and each longer path segment, since Slack's and
/// most webhook URLs carry their token there) and any key. A receiver that echoes the request
/// in its error answer then cannot leak it.
struct ChannelRedaction: Sendable {
    private let secrets: [String]

    init(url: URL? = nil, secrets: [String] = []) {
        var all = secrets
        if let url {
            all.append(url.absoluteString)
            for path in [url.path, url.path(percentEncoded: true)] where path.count > 1 { all.append(path) }
            if let query = url.query(percentEncoded: true), !query.isEmpty { all.append(query) }
            if let query = url.query(percentEncoded: false), !query.isEmpty { all.append(query) }
            all += url.pathComponents.filter { $0.count >= 8 }
        }
        // Longest first, so a whole URL is replaced before its parts.
        self.secrets = Set(all.filter { !$0.isEmpty }).sorted { $0.count > $1.count }
    }

    func redact(_ text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "[redacted]") }
    }

    /// A receiver's answer, short and on one line, without secrets: for a failure's reason.
    func quote(_ body: Data, limit: Int = 200) -> String {
        let text = String(decoding: body, as: UTF8.self)
            .split(whereSeparator: \.isNewline).joined(separator: " ")
            .trimmingCharacters(in: .whitespaces)
        let redacted = redact(text)
        return redacted.count > limit ? String(redacted.prefix(limit)) + "…" : redacted
    }
}
