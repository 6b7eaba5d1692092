import BillsyncContracts
import Foundation

/// The Block Kit message for one notification. Firing: a header (severity emoji and title),
/// the summary, the figures (records, first and last seen, stage, topic), the examples, the
/// repair command in a code block, and a context line with the group key, why it is sent and
/// any annotation. Resolved: one short line. Every text is cut to Block Kit's limits.
public struct SlackMessage: Sendable {
    let notification: AlertNotification

    public init(notification: AlertNotification) {
        self.notification = notification
    }

    public func json() throws -> Data {
        try json(adding: [:])
    }

    /// The message with more members (the Web API's `channel` and `ts`).
    func json(adding members: [String: String]) throws -> Data {
        let blocks = Array((notification.status == .resolved ? resolvedBlocks() : firingBlocks()).prefix(SlackText.maximumBlocks))
        var document: [String: Any] = [
            "text": SlackText.plain(fallback, limit: SlackText.fallbackLimit),
            "blocks": blocks,
            "unfurl_links": false,
            "unfurl_media": false,
        ]
        for (name, value) in members { document[name] = value }
        return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// What notifications and clients without blocks show.
    var fallback: String {
        let n = notification
        switch n.status {
        case .resolved: return "✅ Resolved: \(n.title)"
        case .firing: return "\(Self.emoji(n.severity)) \(n.title) (\(n.count) so far)"
        }
    }

    static func emoji(_ severity: Alert.Severity) -> String {
        switch severity {
        case .critical: "🚨"
        case .warning: "⚠️"
        case .info: "ℹ️"
        }
    }

    private func firingBlocks() -> [[String: Any]] {
        let n = notification
        var blocks: [[String: Any]] = [
            ["type": "header",
             "text": ["type": "plain_text", "emoji": true,
                      "text": SlackText.plain("\(Self.emoji(n.severity)) \(n.title)", limit: SlackText.headerLimit)]],
            section(SlackText.mrkdwn(n.summary, limit: SlackText.sectionLimit)),
        ]
        var fields = [field("Records", "\(n.count)"), field("First seen", n.firstSeenAt), field("Last seen", n.lastSeenAt)]
        if let stage = n.stage { fields.append(field("Stage", stage)) }
        if let topic = n.topic { fields.append(field("Topic", topic)) }
        blocks.append(["type": "section", "fields": Array(fields.prefix(SlackText.maximumFields))])
        if !n.examples.isEmpty {
            // At most ten examples of at most 250 characters: well within a section's limit.
            let lines = n.examples.prefix(10).map { "• `\(SlackText.mrkdwn($0, limit: 250))`" }
            blocks.append(section("*Examples*\n" + lines.joined(separator: "\n")))
        }
        if let command = n.command {
            let frame = "*Repair*\n``````"
            blocks.append(section("*Repair*\n```" + SlackText.mrkdwn(command, limit: SlackText.sectionLimit - SlackText.length(frame)) + "```"))
        }
        blocks.append(context(firingContext()))
        return blocks
    }

    private func firingContext() -> [String] {
        let n = notification
        var elements = [SlackText.mrkdwn(Self.describe(n.reason), limit: 200)]
        elements.append("group `\(SlackText.mrkdwn(n.groupKey, limit: 1_000))`")
        if let annotation = n.annotation { elements.append("📝 " + SlackText.mrkdwn(annotation, limit: 1_000)) }
        if let runbook = n.runbook {
            if let url = URL(string: runbook), url.scheme == "https" || url.scheme == "http", !runbook.contains("|") {
                elements.append("<\(SlackText.mrkdwn(runbook, limit: 2_000))|Runbook>")
            } else {
                elements.append("Runbook: " + SlackText.mrkdwn(runbook, limit: 1_000))
            }
        }
        return elements
    }

    private func resolvedBlocks() -> [[String: Any]] {
        let n = notification
        return [
            section("✅ *Resolved:* " + SlackText.mrkdwn(n.title, limit: SlackText.sectionLimit - 20)),
            context(["group `\(SlackText.mrkdwn(n.groupKey, limit: 1_000))`", "\(n.count) in all",
                     "open since \(Self.slackDate(n.firstSeenAt))"]),
        ]
    }

    static func describe(_ reason: AlertNotification.Reason) -> String {
        switch reason {
        case .opened: "New"
        case .grew: "Growing: paged again"
        case .updated: "Update"
        case .reminder: "Reminder: still open"
        case .resolved: "Resolved"
        }
    }

    /// A time each reader sees in their own zone, with ISO 8601 UTC as the fallback.
    static func slackDate(_ date: Date) -> String {
        "<!date^\(Int(date.timeIntervalSince1970))^{date_short_pretty} {time}|\(AlertTime.iso8601(date))>"
    }

    private func section(_ mrkdwn: String) -> [String: Any] {
        ["type": "section", "text": ["type": "mrkdwn", "text": mrkdwn]]
    }

    private func field(_ label: String, _ value: String) -> [String: Any] {
        ["type": "mrkdwn", "text": "*\(label)*\n" + SlackText.mrkdwn(value, limit: SlackText.fieldLimit - label.count - 3)]
    }

    private func field(_ label: String, _ date: Date) -> [String: Any] {
        ["type": "mrkdwn", "text": "*\(label)*\n" + Self.slackDate(date)]
    }

    private func context(_ elements: [String]) -> [String: Any] {
        ["type": "context",
         "elements": elements.prefix(SlackText.maximumContextElements).map { ["type": "mrkdwn", "text": $0] }]
    }
}
