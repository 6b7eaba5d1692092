import Foundation

/// How a failure is treated: retried, or sent straight to the dead-letter topic.
public enum ErrorClass: String, Codable, Sendable, Hashable {
    /// Timeouts, 5xx, lock contention: retry with backoff.
    case transient
    /// The record breaks a rule: retrying cannot help.
    case permanent
    /// The bytes do not decode or validate at all.
    case poison
}

/// A message a stage gave up on, with what is needed to inspect and redrive it (`dead-letter.v1`).
public struct DeadLetter: MessagePayload {
    public static let messageType = MessageType.deadLetter

    public struct Header: Codable, Sendable, Hashable {
        public var name: String
        /// Base64 of the header's bytes; nil for a header without a value.
        @ExplicitNull public var value: String?

        public init(name: String, value: String?) {
            self.name = name
            self.value = value
        }
    }

    public struct Original: Codable, Sendable, Hashable {
        public var topic: String
        public var partition: Int
        public var offset: Int64
        /// Base64 of the key's bytes, nil when the message had no key.
        @ExplicitNull public var key: String?
        /// Base64 of the value's bytes, nil for a tombstone.
        @ExplicitNull public var value: String?
        public var headers: [Header]

        public init(topic: String, partition: Int, offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: [(String, [UInt8]?)]) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
            self.key = key.map { Data($0).base64EncodedString() }
            self.value = value.map { Data($0).base64EncodedString() }
            self.headers = headers.map { Header(name: $0.0, value: $0.1.map { Data($0).base64EncodedString() }) }
        }

        public var keyBytes: [UInt8]? { key.flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) } }
        public var valueBytes: [UInt8]? { value.flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) } }
    }

    public var original: Original
    public var consumerGroup: String
    public var stage: String
    public var errorClass: ErrorClass
    public var errorCode: String
    public var errorMessage: String
    /// The JSON pointer of the failing field, when one is known.
    public var errorPointer: String?
    public var attempts: Int
    public var firstFailedAt: Timestamp
    public var lastFailedAt: Timestamp
    public var worker: String

    public init(original: Original, consumerGroup: String, stage: String, errorClass: ErrorClass, errorCode: String,
                errorMessage: String, errorPointer: String? = nil, attempts: Int, firstFailedAt: Timestamp,
                lastFailedAt: Timestamp, worker: String) {
        self.original = original
        self.consumerGroup = consumerGroup
        self.stage = stage
        self.errorClass = errorClass
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.errorPointer = errorPointer
        self.attempts = attempts
        self.firstFailedAt = firstFailedAt
        self.lastFailedAt = lastFailedAt
        self.worker = worker
    }
}

/// One thing ops must know, said once (`alert.v1`).
public struct Alert: MessagePayload {
    public static let messageType = MessageType.alert

    public enum Severity: String, Codable, Sendable, Hashable { case info, warning, critical }
    public enum Kind: String, Codable, Sendable, Hashable {
        case deadLetters = "dead-letters"
        case loadFailures = "load-failures"
        case consumerLag = "consumer-lag"
        case apiBudget = "api-budget"
        case stageDown = "stage-down"
        case runFailed = "run-failed"
        /// Offsets not moving while there is lag (Burrow's "stalled").
        case consumerStalled = "consumer-stalled"
        /// No successful load of an object for longer than its schedule allows.
        case staleness
        /// A finished run's counts do not add up.
        case discrepancy
        /// A worker stopped reporting.
        case workerMissing = "worker-missing"
    }

    public enum Status: String, Codable, Sendable, Hashable { case firing, resolved }

    public var alertId: UUID
    /// Repeats with the same key update one alert instead of raising another.
    public var dedupeKey: String
    public var severity: Severity
    public var kind: Kind
    public var title: String
    public var summary: String
    public var stage: String?
    public var topic: String?
    public var count: Int
    public var firstSeenAt: Timestamp
    public var lastSeenAt: Timestamp
    public var runbook: String?
    public var status: Status?
    public var examples: [String]?
    public var command: String?
    public var annotation: String?
    public var labels: [String: String]?

    public init(alertId: UUID = UUID(), dedupeKey: String, severity: Severity, kind: Kind, title: String, summary: String,
                stage: String? = nil, topic: String? = nil, count: Int, firstSeenAt: Timestamp, lastSeenAt: Timestamp,
                runbook: String? = nil, status: Status? = nil, examples: [String]? = nil, command: String? = nil,
                annotation: String? = nil, labels: [String: String]? = nil) {
        self.alertId = alertId
        self.dedupeKey = dedupeKey
        self.severity = severity
        self.kind = kind
        self.title = title
        self.summary = summary
        self.stage = stage
        self.topic = topic
        self.count = count
        self.firstSeenAt = firstSeenAt
        self.lastSeenAt = lastSeenAt
        self.runbook = runbook
        self.status = status
        self.examples = examples
        self.command = command
        self.annotation = annotation
        self.labels = labels
    }
}

/// The summary of one run of one stage or source (`sync-report.v1`).
public struct SyncReport: MessagePayload {
    public static let messageType = MessageType.syncReport

    public enum Status: String, Codable, Sendable, Hashable { case succeeded, partial, failed }

    public struct Counts: Codable, Sendable, Hashable {
        public var read: Int?
        public var published: Int?
        public var rejected: Int?
        public var loaded: Int?
        public var created: Int?
        public var updated: Int?
        public var suppressed: Int?
        public var deadLettered: Int?

        public init(read: Int? = nil, published: Int? = nil, rejected: Int? = nil, loaded: Int? = nil, created: Int? = nil,
                    updated: Int? = nil, suppressed: Int? = nil, deadLettered: Int? = nil) {
            self.read = read
            self.published = published
            self.rejected = rejected
            self.loaded = loaded
            self.created = created
            self.updated = updated
            self.suppressed = suppressed
            self.deadLettered = deadLettered
        }
    }

    public var runId: UUID
    public var stage: String
    public var source: String?
    public var startedAt: Timestamp
    public var finishedAt: Timestamp
    public var status: Status
    public var counts: Counts
    // The fleet-wide report (`SyncReport+Fleet.swift`); a single stage's summary leaves them out.
    /// Where every record ended, per object, source entity and direction.
    public var flows: [Flow]?
    /// Dead letters grouped by stage, error code and field, each with its redrive command.
    public var deadLetterGroups: [DeadLetterGroup]?
    /// A sample of loaded records read back from the CRM and compared field by field.
    public var reconciliation: Reconciliation?
    /// Salesforce API calls of the run, as Salesforce counted them (nil when unknown).
    public var apiCalls: Int?
    public var stageTimings: [StageTiming]?
    /// The window of time the report covers (a daily report's day).
    public var period: Period?
    /// Where the run's bills and readings ended, per billing cycle.
    public var billingCycles: [BillingCycle]?

    public init(runId: UUID = UUID(), stage: String, source: String? = nil, startedAt: Timestamp, finishedAt: Timestamp,
                status: Status, counts: Counts, flows: [Flow]? = nil, deadLetterGroups: [DeadLetterGroup]? = nil,
                reconciliation: Reconciliation? = nil, apiCalls: Int? = nil, stageTimings: [StageTiming]? = nil, period: Period? = nil,
                billingCycles: [BillingCycle]? = nil) {
        self.runId = runId
        self.stage = stage
        self.source = source
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.status = status
        self.counts = counts
        self.flows = flows
        self.deadLetterGroups = deadLetterGroups
        self.reconciliation = reconciliation
        self.apiCalls = apiCalls
        self.stageTimings = stageTimings
        self.period = period
        self.billingCycles = billingCycles
    }
}
