import Foundation

/// The generic webhook's document (version 1): every field of the notification, each key
/// always present (`null` when there is no value), times in ISO 8601 UTC. A receiver that
/// reads version 1 keeps working when fields are added; a change of meaning raises `version`.
public struct WebhookPayload: Encodable, Sendable {
    static let version = 1

    let notification: AlertNotification

    public init(notification: AlertNotification) {
        self.notification = notification
    }

    private enum Keys: String, CodingKey {
        case version, status, reason, groupKey, severity, kind, title, summary, stage, topic, count
        case firstSeenAt, lastSeenAt, examples, command, runbook, annotation, labels, details, pageCount
    }

    public func encode(to encoder: any Encoder) throws {
        let n = notification
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(Self.version, forKey: .version)
        try container.encode(n.status.rawValue, forKey: .status)
        try container.encode(n.reason.rawValue, forKey: .reason)
        try container.encode(n.groupKey, forKey: .groupKey)
        try container.encode(n.severity.rawValue, forKey: .severity)
        try container.encode(n.kind.rawValue, forKey: .kind)
        try container.encode(n.title, forKey: .title)
        try container.encode(n.summary, forKey: .summary)
        try container.encode(n.stage, forKey: .stage)
        try container.encode(n.topic, forKey: .topic)
        try container.encode(n.count, forKey: .count)
        try container.encode(AlertTime.iso8601(n.firstSeenAt), forKey: .firstSeenAt)
        try container.encode(AlertTime.iso8601(n.lastSeenAt), forKey: .lastSeenAt)
        try container.encode(n.examples, forKey: .examples)
        try container.encode(n.command, forKey: .command)
        try container.encode(n.runbook, forKey: .runbook)
        try container.encode(n.annotation, forKey: .annotation)
        try container.encode(n.labels, forKey: .labels)
        try container.encode(n.details, forKey: .details)
        try container.encode(n.pageCount, forKey: .pageCount)
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
