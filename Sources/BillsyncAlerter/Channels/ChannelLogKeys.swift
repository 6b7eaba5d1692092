/// Metadata keys of the channels' log lines, in one place so dashboards can rely on them.
public enum ChannelLogKeys {
    public static let channel = "alert.channel"
    public static let group = "alert.group"
    public static let kind = "alert.kind"
    public static let severity = "alert.severity"
    public static let status = "alert.status"
    public static let reason = "alert.reason"
    public static let count = "alert.count"
    public static let annotation = "alert.annotation"
    public static let stage = "billsync.stage"
    public static let topic = "kafka.topic"
    public static let attempts = "billsync.attempts"
    public static let failure = "alert.delivery.failure"
    public static let retryIn = "alert.delivery.retry_in"
}
