import BillsyncTopics
import Foundation

/// The accounting of one run: where every extracted record ended, per CRM object and direction.
///
/// A record ends loaded (created or updated), unchanged (the transformer handled it and wrote
/// nothing, because the CRM already has these values), or dead-lettered with a reason. Until
/// then it is pending (not handled yet) or retrying (in a retry topic). A record a stage has
/// handled without any of these outcomes is unaccounted for: that is a lost record, and the
/// report names it. "Handled" is read from the stage's committed offsets, which billsync commits
/// only after a message's outputs are acknowledged, so nothing is called lost that is merely late.
/// A `FleetLedger` answers it for any run (a source over a period) from counters and the records
/// still in flight; `SyncLedger(facts:)` for facts gathered at once.
public struct SyncLedger: Sendable {
    public enum Outcome: Sendable, Hashable {
        case created, updated, unchanged
        case deadLettered(stage: Stage)
        case retrying(stage: Stage)
        case pending(stage: Stage)
        case unaccounted(stage: Stage, reason: String)

        /// Whether nothing more will happen to the record.
        public var isFinal: Bool {
            switch self {
            case .created, .updated, .unchanged, .deadLettered: true
            case .retrying, .pending, .unaccounted: false
            }
        }

        public var isDeadLettered: Bool {
            if case .deadLettered = self { true } else { false }
        }

        /// The worst of several outcomes decides a record with several upserts.
        var severity: Int {
            switch self {
            case .unchanged: 0
            case .updated: 1
            case .created: 2
            case .deadLettered: 3
            case .retrying: 4
            case .pending: 5
            case .unaccounted: 6
            }
        }
    }

    /// One line of the table: records of one type into one object, in one direction.
    public struct Flow: Sendable, Hashable, Comparable {
        public var object: String
        public var from: String
        public var direction: Direction

        public enum Direction: String, Sendable, Hashable, Comparable {
            case toSalesforce = "→ Salesforce"
            case toBilling = "→ billing"
            case rollup = "roll-up → Salesforce"

            public static func < (lhs: Direction, rhs: Direction) -> Bool { lhs.rawValue < rhs.rawValue }
        }

        public static func < (lhs: Flow, rhs: Flow) -> Bool {
            (lhs.direction == .rollup ? 1 : 0, lhs.direction == .toBilling ? 1 : 0, lhs.object, lhs.from)
                < (rhs.direction == .rollup ? 1 : 0, rhs.direction == .toBilling ? 1 : 0, rhs.object, rhs.from)
        }
    }

    public struct Row: Sendable, Hashable {
        public var flow: Flow
        public var extracted = 0
        public var transformed = 0
        public var unchanged = 0
        public var created = 0
        public var updated = 0
        public var deadLettered = 0
        public var retrying = 0
        public var pending = 0
        public var unaccounted = 0
        /// `pending` by the stage that has not handled them yet: records behind a stage that is
        /// still committing are late, not missing.
        public var pendingAt: [Stage: Int] = [:]

        public init(flow: Flow) {
            self.flow = flow
        }

        mutating func count(_ outcome: Outcome) {
            switch outcome {
            case .created: created += 1
            case .updated: updated += 1
            case .unchanged: unchanged += 1
            case .deadLettered: deadLettered += 1
            case .retrying: retrying += 1
            case let .pending(stage):
                pending += 1
                pendingAt[stage, default: 0] += 1
            case .unaccounted: unaccounted += 1
            }
        }

        /// Adds another row's counts of the same flow (another second of extraction, the open records).
        mutating func add(_ other: Row) {
            extracted += other.extracted
            transformed += other.transformed
            unchanged += other.unchanged
            created += other.created
            updated += other.updated
            deadLettered += other.deadLettered
            retrying += other.retrying
            pending += other.pending
            unaccounted += other.unaccounted
            pendingAt.merge(other.pendingAt, uniquingKeysWith: +)
        }

        /// Every record has exactly one final outcome.
        public var isClosed: Bool { retrying == 0 && pending == 0 && unaccounted == 0 }
    }

    /// Where one record ended in one flow: what the anomaly check and the "unaccounted" list read.
    public struct Entry: Sendable, Hashable {
        public var record: FleetFacts.RawRecord?
        public var upsert: FleetFacts.Upsert?
        public var flow: Flow
        public var outcome: Outcome

        /// How a person finds the record: its type and key, and its file and line when it has them.
        public var description: String {
            if let record {
                let place = record.file.map { " (\($0) line \(record.line ?? 0))" } ?? ""
                return "\(record.type) \(record.businessKey)\(place)"
            }
            if let upsert { return "\(upsert.object) \(upsert.externalId)" }
            return flow.object
        }
    }

    /// Dead letters of one stage with one error code on one field.
    public struct DeadLetterGroup: Sendable, Hashable {
        public var stage: Stage
        public var code: String
        public var field: String?
        public var count = 0
        public var reason: String
        public var examples: [String] = []
    }

    /// A run's bills and readings into Salesforce by billing cycle (the month of a bill's last
    /// bill date, of a reading's date) and record type.
    public struct CycleRow: Sendable, Hashable {
        public var cycle: String
        public var type: String
        public var extracted = 0
        public var loaded = 0
        public var suppressed = 0
        public var deadLettered = 0
        public var open = 0

        mutating func count(_ outcome: Outcome) {
            extracted += 1
            switch outcome {
            case .created, .updated: loaded += 1
            case .unchanged: suppressed += 1
            case .deadLettered: deadLettered += 1
            case .retrying, .pending, .unaccounted: open += 1
            }
        }

        mutating func add(_ other: CycleRow) {
            extracted += other.extracted
            loaded += other.loaded
            suppressed += other.suppressed
            deadLettered += other.deadLettered
            open += other.open
        }
    }

    /// What one stage did with the run's messages: handled (its group committed past them) and
    /// wrote (upserts, results).
    public struct StageCount: Sendable, Hashable {
        public var handled = 0
        public var written = 0
    }

    public var rows: [Row] = []
    /// Distinct raw records of the run (a record in two flows counts once).
    public var recordsExtracted = 0
    /// The entries kept: every record's when the ledger keeps them all (`SyncLedger(facts:)`), else
    /// the watched rows' (`FleetLedger.watch`) and those of records not at their end yet (at most
    /// `FleetLedger.openEntriesListed` of them besides the watched).
    public var entries: [Entry] = []
    /// Entries not at their end (some may not be listed in `entries`).
    public var unfinished = 0
    /// File rows the extractor refused before they became records, per file.
    public var refusedRows: [String: Int] = [:]
    /// Records of types no running stage reads (e.g. contacts while no stage maps them), by type.
    public var unrouted: [String: Int] = [:]
    /// `file:line` of every row the extractor refused that the ledger kept (every one, or the watched rows).
    public var refusedLines: Set<String> = []
    public var deadLetterGroups: [DeadLetterGroup] = []
    /// Messages of the run that went through each stage's retry topics (whatever became of
    /// them): a record type racing another shows here at the loader.
    public var retried: [Stage: Int] = [:]
    /// Per stage, what it handled and wrote of the run's messages.
    public var stages: [Stage: StageCount] = [:]
    /// Per stage, when the broker took the last output it wrote for the run's records.
    public var lastWritten: [Stage: Date] = [:]
    public var billingCycles: [CycleRow] = []
    /// The sampled CRM records, each change marked `ofRun` when it is an upsert of this run.
    public var samples = UpsertSamples()
    /// Per stage, the sum of its committed offsets over the partitions it reads: it changes
    /// exactly when the stage commits something.
    public var committed: [Stage: Int64] = [:]

    public init() {}

    /// Every record's flows closed. The stages' lag is the caller's to check: a roll-up may
    /// still be on its way while every record is done.
    public var isClosed: Bool { rows.allSatisfy(\.isClosed) }

    /// Entries listed that are not final, for the "unaccounted for" list (`unfinished` counts them all).
    public var open: [Entry] { entries.filter { !$0.outcome.isFinal } }
}
