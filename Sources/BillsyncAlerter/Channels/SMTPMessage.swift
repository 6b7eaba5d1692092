import Foundation

/// The mail for one notification (RFC 5322): a subject that says firing or resolved, a plain-text
/// body (summary, figures, examples, repair command), and `References`/`In-Reply-To` naming
/// one made-up root message per group, so every mail about a group lands in one thread.
struct SMTPMessage {
    let notification: AlertNotification
    let from: String
    let to: [String]
    let date: Date
    /// Unique per mail; the part after "@" is `domain`.
    let uniqueID: String

    /// The domain of the message ids: the sender's.
    var domain: String {
        guard let at = from.lastIndex(of: "@") else { return "billsync.alerter" }
        let domain = from[from.index(after: at)...].filter { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }
        return domain.isEmpty ? "billsync.alerter" : String(domain)
    }

    /// The group's thread root: the same for every mail about the group.
    var threadID: String { "<billsync-group-\(GroupFingerprint.of(notification.groupKey))@\(domain)>" }

    var subject: String {
        let state = notification.status == .resolved ? "RESOLVED" : "FIRING"
        return "[billsync \(state)] " + Self.oneLine(notification.title, limit: 200)
    }

    /// Headers and body with CRLF line endings, ready for DATA (before dot-stuffing).
    func rendered() -> String {
        let body = Self.crlf(self.body)
        let plain = body.utf8.allSatisfy { $0 < 0x80 } && body.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 998 }
        let headers = [
            "Date: " + Self.rfc5322Date(date),
            "From: " + from,
            "To: " + to.joined(separator: ",\r\n "),
            "Subject: " + Self.encodedHeader(subject),
            "Message-ID: <\(uniqueID)@\(domain)>",
            "In-Reply-To: " + threadID,
            "References: " + threadID,
            "Auto-Submitted: auto-generated",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: " + (plain ? "7bit" : "base64"),
        ]
        let encodedBody = plain ? body : Self.base64Lines(Data(body.utf8))
        return headers.joined(separator: "\r\n") + "\r\n\r\n" + encodedBody
    }

    var body: String {
        let n = notification
        var lines: [String] = [n.status == .resolved ? "Resolved: \(n.title)" : n.title, "", n.summary, ""]
        lines.append("Records:    \(n.count)")
        lines.append("First seen: \(AlertTime.iso8601(n.firstSeenAt))")
        lines.append("Last seen:  \(AlertTime.iso8601(n.lastSeenAt))")
        if let stage = n.stage { lines.append("Stage:      \(stage)") }
        if let topic = n.topic { lines.append("Topic:      \(topic)") }
        if !n.examples.isEmpty {
            lines += ["", "Examples:"] + n.examples.map { "  - \($0)" }
        }
        if let command = n.command { lines += ["", "Repair:", "  \(command)"] }
        if let runbook = n.runbook { lines += ["", "Runbook: \(runbook)"] }
        if let annotation = n.annotation { lines += ["", "Note: \(annotation)"] }
        lines += ["", "Group: \(n.groupKey)"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// DATA's content: every line that starts with "." gets another (RFC 5321 §4.5.2), then
    /// the terminating "." line.
    static func dataSection(_ message: String) -> String {
        let stuffed = message.components(separatedBy: "\r\n").map { $0.hasPrefix(".") ? "." + $0 : $0 }
        return stuffed.joined(separator: "\r\n") + "\r\n.\r\n"
    }

    static func crlf(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "\n", with: "\r\n")
    }

    /// Control characters (a line break would end the header) become spaces; cut at `limit`.
    static func oneLine(_ text: String, limit: Int) -> String {
        let flat = String(text.map { $0.isNewline || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } == true ? " " : $0 })
        return flat.count <= limit ? flat : String(flat.prefix(limit - 1)) + "…"
    }

    /// ASCII as is; otherwise RFC 2047 encoded words of at most 75 characters, folded.
    static func encodedHeader(_ value: String) -> String {
        if value.utf8.allSatisfy({ $0 < 0x80 }) { return value }
        var words: [String] = []
        var chunk = ""
        for character in value {
            if chunk.utf8.count + String(character).utf8.count > 45 {
                words.append(chunk)
                chunk = ""
            }
            chunk.append(character)
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    static func base64Lines(_ data: Data) -> String {
        let encoded = data.base64EncodedString()
        var lines: [Substring] = []
        var start = encoded.startIndex
        while start < encoded.endIndex {
            let end = encoded.index(start, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(encoded[start..<end])
            start = end
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// `Tue, 03 Mar 2026 12:00:00 +0000`, in UTC, without a locale's help.
    static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.weekday, .day, .month, .year, .hour, .minute, .second], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int?) -> String { let v = value ?? 0; return v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[(parts.weekday ?? 1) - 1]), \(two(parts.day)) \(months[(parts.month ?? 1) - 1]) \(parts.year ?? 1970) "
            + "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0000"
    }
}
