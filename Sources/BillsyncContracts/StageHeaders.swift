/// The headers billsync adds to a message it retries or dead-letters, on top of the original
/// key, value and headers: one set of names for every stage (the runtime's and the extractor's
/// dead letters alike), which the redrive tool filters on.
public enum StageHeaders {
    public static let correlationID = "billsync.correlation-id"
    public static let originTopic = "billsync.origin.topic"
    public static let originPartition = "billsync.origin.partition"
    public static let originOffset = "billsync.origin.offset"
    public static let originGroup = "billsync.origin.group"
    public static let stage = "billsync.stage"
    public static let errorClass = "billsync.error.class"
    public static let errorCode = "billsync.error.code"
    public static let errorMessage = "billsync.error.message"
    public static let errorPointer = "billsync.error.pointer"
    public static let attempts = "billsync.attempts"
    public static let firstFailedAt = "billsync.first-failed-at"
    public static let lastFailedAt = "billsync.last-failed-at"
    public static let worker = "billsync.worker"
    /// On every output a stage's handler writes (not on retry copies and dead letters, which keep
    /// the original's headers): which stage wrote it, e.g. a roll-up's totals against the
    /// transformer's own upserts on the same topic.
    public static let writtenBy = "billsync.written-by"
    /// When a message in a retry topic may be tried again (milliseconds since 1970).
    public static let dueAt = "billsync.retry.due-at"

    /// For a row of a file (the extractor): which file, line and column, and which source.
    public static let originFile = "billsync.origin.file"
    public static let originLine = "billsync.origin.line"
    public static let originColumn = "billsync.origin.column"
    /// The row's bytes as the file had them (its own encoding, its line end left off; a UTF-16
    /// file's rows as UTF-8, at most 32 KiB): every record of a file carries it, so a dead letter
    /// at any stage holds the row a person must fix.
    public static let originRow = "billsync.origin.row"
    public static let source = "billsync.source"
    /// Set by the operator tool on every message a replay or redrive re-publishes: the alerter
    /// annotates what these cause instead of paging, and lineage shows it.
    public static let replayID = "billsync.replay-id"
    /// How often a dead letter was redriven: kept through its next failure, so a redrive of
    /// one that keeps failing parks it instead of looping.
    public static let redriveCount = "billsync.redrive.count"

    /// The headers a retry or dead letter replaces rather than keeps from the original. Where a
    /// record came from (file, line, row, source) is not among them: it stays with the record
    /// through every stage's retries and dead letters.
    public static let owned: Set<String> = [
        originTopic, originPartition, originOffset, originGroup, stage, errorClass, errorCode, errorMessage,
        errorPointer, attempts, firstFailedAt, lastFailedAt, worker, dueAt, originColumn,
    ]
    /// For a record read from a file: which column each of its fields came from, as a JSON
    /// object of payload paths (`name`, `fields.Amount_Due__c` once the transformer made it an
    /// upsert) to `[column number, column name]`. A dead letter at any stage names the column
    /// of the field it was refused for from it.
    public static let originColumns = "billsync.origin.columns"
    /// Where a record came from: carried from a raw record onto what the transformer makes of it.
    /// A handful of names, compared on every message: an array, which is cheaper than hashing them.
    public static let lineage: [String] = [originFile, originLine, originRow, originColumns, source]
}
