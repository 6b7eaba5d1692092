import BillsyncContracts
import Foundation

/// One Events API v2 event. A trigger carries the payload (summary, source, severity, time,
/// component, group, class, custom details); a resolve carries only the routing key, the action
/// and the `dedup_key` of the incident it closes.
struct PagerDutyEvent {
    /// The Events API's limits.
    static let summaryLimit = 1_024
    static let dedupKeyLimit = 255

    enum Action: String { case trigger, resolve }

    let routingKey: String
    let action: Action
    let dedupKey: String
    /// For a trigger: the notification it reports, and the `source` to name.
    let notification: AlertNotification?
    let source: String

    static func trigger(_ notification: AlertNotification, routingKey: String, source: String) -> PagerDutyEvent {
        PagerDutyEvent(routingKey: routingKey, action: .trigger,
                       dedupKey: dedupKey(groupKey: notification.groupKey, page: max(notification.pageCount, 1)),
                       notification: notification, source: source)
    }

    /// One resolve per incident the group opened: pages 1 through `pageCount`.
    static func resolves(_ notification: AlertNotification, routingKey: String) -> [PagerDutyEvent] {
        (1...max(notification.pageCount, 1)).map { page in
            PagerDutyEvent(routingKey: routingKey, action: .resolve,
                           dedupKey: dedupKey(groupKey: notification.groupKey, page: page), notification: nil, source: "")
        }
    }

    /// The incident's key: the group key for the first page, `<groupKey>#<n>` for the n-th.
    /// A group key longer than 247 UTF-8 bytes (leaving room for "#n") keeps its beginning and
    /// ends with "~" and a fingerprint of the whole key, so its key stays the same for the group,
    /// differs between groups, and page n's is still page 1's followed by "#n".
    static func dedupKey(groupKey: String, page: Int) -> String {
        let suffix = page > 1 ? "#\(page)" : ""
        let room = dedupKeyLimit - 8
        if groupKey.utf8.count <= room { return groupKey + suffix }
        let tail = "~" + GroupFingerprint.of(groupKey)
        var head = ""
        var used = tail.utf8.count
        for character in groupKey {
            let size = String(character).utf8.count
            guard used + size <= room else { break }
            head.append(character)
            used += size
        }
        return head + tail + suffix
    }

    static func severity(_ severity: Alert.Severity) -> String {
        switch severity {
        case .critical: "critical"
        case .warning: "warning"
        case .info: "info"
        }
    }

    func json() throws -> Data {
        var event: [String: Any] = ["routing_key": routingKey, "event_action": action.rawValue, "dedup_key": dedupKey]
        if action == .trigger, let n = notification {
            var payload: [String: Any] = [
                "summary": Self.cut(n.title, limit: Self.summaryLimit),
                "source": source,
                "severity": Self.severity(n.severity),
                "timestamp": AlertTime.iso8601(n.lastSeenAt),
                "group": n.kind.rawValue,
                "custom_details": customDetails(n),
            ]
            if let stage = n.stage { payload["component"] = stage }
            if let code = n.labels["code"] { payload["class"] = code }
            event["payload"] = payload
            if let runbook = n.runbook, let url = URL(string: runbook), url.scheme == "https" || url.scheme == "http" {
                event["links"] = [["href": runbook, "text": "Runbook"]]
            }
        }
        return try JSONSerialization.data(withJSONObject: event, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    private func customDetails(_ n: AlertNotification) -> [String: Any] {
        var details: [String: Any] = n.details
        details["summary"] = n.summary
        details["count"] = n.count
        details["examples"] = n.examples
        details["firstSeenAt"] = AlertTime.iso8601(n.firstSeenAt)
        details["lastSeenAt"] = AlertTime.iso8601(n.lastSeenAt)
        details["groupKey"] = n.groupKey
        if let command = n.command { details["command"] = command }
        if let topic = n.topic { details["topic"] = topic }
        if let runbook = n.runbook { details["runbook"] = runbook }
        return details
    }

    /// At most `limit` characters, the last one "…" when cut.
    private static func cut(_ text: String, limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }
}
