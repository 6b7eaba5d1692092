/// Metadata keys of the runtime's log lines, in one place so dashboards can rely on them.
public enum RuntimeLogKeys {
    public static let stage = "billsync.stage"
    public static let topic = "kafka.topic"
    public static let offset = "kafka.offset"
    public static let correlationID = "billsync.correlation_id"
    public static let errorCode = "billsync.error.code"
    public static let errorClass = "billsync.error.class"
    public static let errorMessage = "billsync.error.message"
    public static let attempts = "billsync.attempts"
}
