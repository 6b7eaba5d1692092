import Logging

/// Writes each notification as one structured log line: `warning` or `critical` by severity
/// while firing (`info` for an info alert), `info` once resolved or while annotated (a replay
/// or redrive is running: told, not alarming). The fallback channel that always works.
public struct LogChannel: AlertChannel {
    public let name: String
    private let logger: Logger

    public init(logger: Logger, name: String = "log") {
        self.logger = logger
        self.name = name
    }

    public func deliver(_ notification: AlertNotification) async throws {
        let n = notification
        let level: Logger.Level = switch (n.status, n.annotation, n.severity) {
        case (.resolved, _, _), (_, .some, _), (_, _, .info): .info
        case (_, _, .warning): .warning
        case (_, _, .critical): .critical
        }
        var metadata: Logger.Metadata = [
            ChannelLogKeys.group: "\(n.groupKey)",
            ChannelLogKeys.kind: "\(n.kind.rawValue)",
            ChannelLogKeys.severity: "\(n.severity.rawValue)",
            ChannelLogKeys.status: "\(n.status.rawValue)",
            ChannelLogKeys.reason: "\(n.reason.rawValue)",
            ChannelLogKeys.count: "\(n.count)",
        ]
        if let stage = n.stage { metadata[ChannelLogKeys.stage] = "\(stage)" }
        if let topic = n.topic { metadata[ChannelLogKeys.topic] = "\(topic)" }
        if let annotation = n.annotation { metadata[ChannelLogKeys.annotation] = "\(annotation)" }
        let state = n.status == .resolved ? "resolved" : "firing"
        logger.log(level: level, "alert \(state): \(n.title)", metadata: metadata)
    }
}
