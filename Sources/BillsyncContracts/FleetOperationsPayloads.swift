import BillsyncJSON
import Foundation

/// A worker's heartbeat (`worker-status.v1`): what it reads and how far behind it is, so the
/// alerter can tell a slow stage from a stalled one and notice a worker that stopped reporting.
public struct WorkerStatus: MessagePayload {
    public static let messageType = MessageType.workerStatus

    public enum State: String, Codable, Sendable, Hashable {
        case running
        /// Said last by a worker that stopped gracefully: its silence is not an outage.
        case stopped
    }

    public struct Partition: Codable, Sendable, Hashable {
        public var topic: String
        public var partition: Int
        /// The offset after the last message finished.
        public var position: Int64
        public var lagMessages: Int64
        /// Age of the oldest message taken and not finished.
        public var lagSeconds: Double

        public init(topic: String, partition: Int, position: Int64, lagMessages: Int64, lagSeconds: Double) {
            self.topic = topic
            self.partition = partition
            self.position = position
            self.lagMessages = lagMessages
            self.lagSeconds = lagSeconds
        }
    }

    public struct APIUsage: Codable, Sendable, Hashable {
        public var used: Int
        public var limit: Int

        public init(used: Int, limit: Int) {
            self.used = used
            self.limit = limit
        }
    }

    public var worker: String
    public var stage: String
    public var group: String
    public var state: State
    public var reportedAt: Timestamp
    public var intervalSeconds: Double
    public var handled: Int
    public var partitions: [Partition]
    public var apiUsage: APIUsage?
    /// When the worker process started.
    public var startedAt: Timestamp?

    public init(worker: String, stage: String, group: String, state: State, reportedAt: Timestamp, intervalSeconds: Double,
                handled: Int, partitions: [Partition], apiUsage: APIUsage? = nil, startedAt: Timestamp? = nil) {
        self.worker = worker
        self.stage = stage
        self.group = group
        self.state = state
        self.reportedAt = reportedAt
        self.intervalSeconds = intervalSeconds
        self.handled = handled
        self.partitions = partitions
        self.apiUsage = apiUsage
        self.startedAt = startedAt
    }
}

/// Holds back notifications of matching alert groups until `endsAt` (`silence.v1`).
public struct Silence: MessagePayload {
    public static let messageType = MessageType.silence

    public struct Matcher: Codable, Sendable, Hashable {
        /// An alert label: `kind`, `stage`, `code`, `field`, `object`, `group`.
        public var label: String
        /// The exact value; `*` matches any value.
        public var value: String

        public init(label: String, value: String) {
            self.label = label
            self.value = value
        }
    }

    public var silenceId: UUID
    public var matchers: [Matcher]
    public var startsAt: Timestamp
    public var endsAt: Timestamp
    public var createdBy: String
    public var comment: String
    public var deleted: Bool?

    public init(silenceId: UUID = UUID(), matchers: [Matcher], startsAt: Timestamp, endsAt: Timestamp, createdBy: String,
                comment: String, deleted: Bool? = nil) {
        self.silenceId = silenceId
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
        self.comment = comment
        self.deleted = deleted
    }

    /// Whether it holds back a group with these labels at `now`.
    public func silences(_ labels: [String: String], at now: Date) -> Bool {
        guard deleted != true, startsAt.date <= now, now < endsAt.date else { return false }
        return matchers.allSatisfy { matcher in
            guard let value = labels[matcher.label] else { return false }
            return matcher.value == "*" || matcher.value == value
        }
    }
}

/// A replay or redrive the operator tool runs (`operator-activity.v1`): alerts of its stages
/// are annotated instead of paged while it runs.
public struct OperatorActivity: MessagePayload {
    public static let messageType = MessageType.operatorActivity

    public enum Kind: String, Codable, Sendable, Hashable { case replay, redrive }

    public var activityId: UUID
    public var kind: Kind
    public var stages: [String]
    public var startedAt: Timestamp
    @ExplicitNull public var finishedAt: Timestamp?
    public var startedBy: String
    public var description: String
    /// The selection as typed; the messages re-published and parked so far; how it ended. The
    /// compacted topic keeps each activity's last record: the audit trail of replays and redrives.
    public var filter: String?
    public var count: Int?
    public var parked: Int?
    public var result: String?
    /// Per source partition (`topic:partition`), the last offset done: where a resumed run goes on.
    public var through: [String: Int64]?

    public init(activityId: UUID = UUID(), kind: Kind, stages: [String], startedAt: Timestamp, finishedAt: Timestamp? = nil,
                startedBy: String, description: String, filter: String? = nil, count: Int? = nil, parked: Int? = nil, result: String? = nil,
                through: [String: Int64]? = nil) {
        self.activityId = activityId
        self.kind = kind
        self.stages = stages
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.startedBy = startedBy
        self.description = description
        self.filter = filter
        self.count = count
        self.parked = parked
        self.result = result
        self.through = through
    }
}

/// One piece of the alerter's durable state (`alert-state.v1`); `data` is the alerter's own
/// record of that kind. A deleted key is a tombstone (no value), so compaction drops it.
public struct AlertState: MessagePayload {
    public static let messageType = MessageType.alertState

    public enum Kind: String, Codable, Sendable, Hashable {
        case group
        case deadLetterTally = "dead-letter-tally"
        case objectLoads = "object-loads"
        case run
        /// The last offset of each input partition whose effect is in the state: a message read
        /// again after a crash (its offset not committed yet) is not counted twice.
        case inputOffsets = "input-offsets"
        /// The loader's own API-budget alerts of the last hour.
        case budgetAlerts = "budget-alerts"
    }

    public var key: String
    public var kind: Kind
    public var updatedAt: Timestamp
    @ExplicitNull public var data: JSONValue?

    public init(key: String, kind: Kind, updatedAt: Timestamp, data: JSONValue?) {
        self.key = key
        self.kind = kind
        self.updatedAt = updatedAt
        self.data = data
    }
}
