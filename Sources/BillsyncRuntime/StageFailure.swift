import BillsyncContracts

/// Why a message could not be handled, and so what happens to it: a transient failure is retried
/// (in process, then through the retry topics); a permanent or poison one goes straight to the
/// dead-letter topic.
public struct StageFailure: Error, Sendable, CustomStringConvertible {
    public var errorClass: ErrorClass
    /// Stable and machine-readable (`sf.UNABLE_TO_LOCK_ROW`, `rule.nmi.checksum`), for metrics,
    /// dead-letter headers and the redrive tool's filters.
    public var code: String
    /// For a person. Never contains a secret: it is copied into headers, logs and alerts.
    public var message: String
    /// The JSON pointer of the failing field, when one is known.
    public var pointer: String?
    /// Messages to write with the dead letter when the failure is final (the loader's failed
    /// result, so the lineage shows the record's end as well). Not written for a retry.
    public var companions: [OutgoingMessage] = []
    /// Not a failure yet: the input waits for another input still to come (a bill's fields for
    /// an account whose creating upsert has not arrived). The runtime hands it back with the
    /// next chunk, without an attempt or a retry topic, until it no longer `mayWait`.
    public var waits = false

    public init(_ errorClass: ErrorClass, code: String, message: String, pointer: String? = nil) {
        self.errorClass = errorClass
        self.code = code
        self.message = message
        self.pointer = pointer
    }

    public static func transient(_ code: String, _ message: String) -> StageFailure {
        StageFailure(.transient, code: code, message: message)
    }

    public static func permanent(_ code: String, _ message: String, pointer: String? = nil) -> StageFailure {
        StageFailure(.permanent, code: code, message: message, pointer: pointer)
    }

    /// The input waits for another input (see `waits`); were it handled now, it would fail
    /// transiently with this code and message.
    public static func waiting(_ code: String, _ message: String) -> StageFailure {
        var failure = StageFailure(.transient, code: code, message: message)
        failure.waits = true
        return failure
    }

    /// A message that does not decode or validate.
    public init(_ violation: ContractViolation) {
        self.init(.poison, code: violation.code, message: violation.description, pointer: violation.pointer?.description)
    }

    /// Any other error a handler throws: unknown, so retried; if it keeps failing it ends in the
    /// dead-letter topic with its description.
    public init(unexpected error: any Error) {
        if let failure = error as? StageFailure {
            self = failure
        } else {
            self.init(.transient, code: "unexpected", message: String(describing: error))
        }
    }

    public var description: String { "\(errorClass.rawValue) \(code): \(message)" }
}
