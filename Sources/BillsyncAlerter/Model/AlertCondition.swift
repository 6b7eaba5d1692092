import BillsyncContracts
import Foundation

/// What a rule found true right now, for one root cause. The lifecycle turns a condition that
/// holds into notifications, and one that stopped holding into a resolved notification.
public struct AlertCondition: Sendable, Hashable, Codable {
    /// The group's identity: the same root cause always gives the same key (≤ 255 characters).
    public var key: String
    public var severity: Alert.Severity
    public var kind: Alert.Kind
    public var title: String
    public var summary: String
    public var stage: String?
    public var topic: String?
    public var count: Int
    public var firstSeenAt: Date
    public var lastSeenAt: Date
    public var examples: [String] = []
    public var command: String?
    public var runbook: String?
    public var labels: [String: String] = [:]
    public var details: [String: String] = [:]
    /// Set when what the condition counts came from a replay or redrive.
    public var annotation: String?

    public init(key: String, severity: Alert.Severity, kind: Alert.Kind, title: String, summary: String, stage: String? = nil,
                topic: String? = nil, count: Int, firstSeenAt: Date, lastSeenAt: Date, examples: [String] = [],
                command: String? = nil, runbook: String? = nil, labels: [String: String] = [:], details: [String: String] = [:]) {
        self.key = String(key.prefix(255))
        self.severity = severity
        self.kind = kind
        self.title = title
        self.summary = summary
        self.stage = stage
        self.topic = topic
        self.count = count
        self.firstSeenAt = firstSeenAt
        self.lastSeenAt = lastSeenAt
        self.examples = Array(examples.prefix(3))
        self.command = command
        self.runbook = runbook
        var labels = labels
        labels["kind"] = kind.rawValue
        if let stage { labels["stage"] = stage }
        labels["group"] = self.key
        self.labels = labels
        self.details = details
    }

    func notification(status: AlertNotification.Status, reason: AlertNotification.Reason, pageCount: Int,
                      annotation: String?) -> AlertNotification {
        AlertNotification(groupKey: key, status: status, reason: reason, severity: severity, kind: kind, title: title,
                          summary: summary, stage: stage, topic: topic, count: count, firstSeenAt: firstSeenAt,
                          lastSeenAt: lastSeenAt, examples: examples, command: command, runbook: runbook,
                          annotation: annotation ?? self.annotation, labels: labels, pageCount: pageCount, details: details)
    }
}
