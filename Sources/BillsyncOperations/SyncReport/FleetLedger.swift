import BillsyncKafka
import BillsyncTopics
import Foundation

/// The sync report's accounting, kept up to date message by message, for the observers that
/// follow the fleet (the alerter's run checks, `billsync report`, `report --wait`).
///
/// Each message is taken once, in the order the reader meets it. A record stays open (one
/// compact entry: ids as 16 bytes, names interned) only while it is in flight; once it reached
/// its end it leaves for the counters of its source and second of extraction, so what the ledger
/// holds is the fleet's backlog, not its history. "Reached its end" is exact: every flow of the
/// record is final (loaded, unchanged or dead-lettered) and every accounting stage reading its
/// messages committed past them, as seen at two refreshes in a row (what a stage committed, its
/// outputs are in what a refresh read; the second refresh covers a fetch answer that came early).
/// An effect read before its cause (a result before its upsert, on another topic) waits for it
/// for two refreshes. Watched rows (`watch`) keep their entries, so anomalies can be checked.
/// `ledger(sources:extractedWithin:)` answers the `SyncLedger` of any run from counters and the
/// open records.
public struct FleetLedger: Sendable {
    public struct Configuration: Sendable {
        /// Record type → CRM object (from the mapping), for records that never became an upsert.
        public var objects: [String: String]
        /// The record types the transformer reads; those the billing sink sends back (empty when it
        /// does not run). Records of other types are only counted (`unrouted`).
        public var transformedTypes: Set<String>
        public var billingTypes: Set<String>
        /// The results' sink name of the loader stage.
        public var sink: String
        /// Records of other sources are not followed at all (nil: every source).
        public var sources: Set<String>?
        /// Per topic, the accounting stages that read it: a record reached its end only once each
        /// of them committed past it. `FleetTopicReader` fills it from the catalog.
        public var readers: [String: [Stage]]
        /// Keeps every record's entries after its end (a report over a few facts, tests), not only
        /// the watched rows'.
        public var keepsEveryEntry: Bool

        public init(objects: [String: String], transformedTypes: Set<String> = Set(TopicCatalog.transformerEntities.map(SyncLedger.recordType)),
                    billingTypes: Set<String> = Set(TopicCatalog.billingUploadEntities.map(SyncLedger.recordType)), sink: String = "salesforce",
                    sources: Set<String>? = nil, readers: [String: [Stage]] = [:], keepsEveryEntry: Bool = false) {
            self.objects = objects
            self.transformedTypes = transformedTypes
            self.billingTypes = billingTypes
            self.sink = sink
            self.sources = sources
            self.readers = readers
            self.keepsEveryEntry = keepsEveryEntry
        }
    }

    /// A source and a second of extraction: what the counters are kept by, so any run (a source
    /// over a period) can be answered from them.
    struct ScopeKey: Sendable, Hashable {
        var source: UInt32
        /// Seconds since 2001 (`Int32.min`: unknown).
        var second: Int32
    }

    /// Non-final entries listed in a `SyncLedger` besides the watched ones (all are counted).
    public static let openEntriesListed = 1_000

    var configuration: Configuration
    var interned = Interned()
    var partitions = PartitionTable()
    /// Open raw records and open upserts (a record's own, and roll-up totals), in slots reused
    /// once freed; `slots` finds either by message id.
    var records: [OpenRecord] = []
    var freeRecords: [UInt32] = []
    var upserts: [OpenUpsert] = []
    var freeUpserts: [UInt32] = []
    var slots = SlotIndex()
    /// Retry copies of open items, by the original message's id (few: only what failed once).
    var retryCopies: [UUID: [RetryMark]] = [:]
    /// Roll-up totals' external ids and scopes (an own upsert's scope is its record's), by slot.
    var rollups: [UInt32: (externalId: String, scope: ScopeKey)] = [:]
    /// Effects whose cause was not read yet, by the cause's id: this refresh's and the previous one's.
    var orphans: [UUID: [Orphan]] = [:]
    var olderOrphans: [UUID: [Orphan]] = [:]
    var tallies: [ScopeKey: LedgerTally] = [:]
    /// Entries of records that reached their end and are kept (watched, or every one).
    var kept: [KeptEntry] = []
    /// Refused rows kept (watched, or every one) with their scope.
    var refusedLines: [(scope: ScopeKey, line: String)] = []
    /// Per stage bit, its committed offsets by partition index (-1: none).
    var committed: [[Int64]] = Array(repeating: [], count: StageBits.count)
    var committedSums: [Stage: Int64] = [:]
    var samples = UpsertSamples()
    var watchedRows: Set<String> = []
    var watchedKeys: Set<String> = []
    /// Order of taking, so entries and examples come out in the order they were read.
    var sequence = 0

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Keeps the entries of these rows (and of every row of the same file and key, for a
    /// deduplication) after their end, so `RecordExpectation.check` can read them. Call it before
    /// the records are taken.
    public mutating func watch(_ expectations: [RecordExpectation]) {
        for expectation in expectations {
            watchedRows.insert("\(expectation.file):\(expectation.line)")
            if expectation.expected == .deduplicated { watchedKeys.insert("\(expectation.file)|\(expectation.businessKey ?? "")") }
        }
    }

    /// The per-topic readers once the reader knows the catalog's topics (before anything is taken).
    mutating func setReaders(_ readers: [String: [Stage]]) {
        configuration.readers = readers
    }

    /// Records and upserts in flight (not at their end yet): what the ledger's memory follows.
    public var openCount: Int { slots.count }
    /// Effects waiting for their cause.
    public var orphanCount: Int { orphans.values.reduce(0) { $0 + $1.count } + olderOrphans.values.reduce(0) { $0 + $1.count } }

    /// Per stage, the sum of its committed offsets: changes exactly when the stage commits.
    public var committedMarks: [Stage: Int64] { committedSums }

    /// A message id as 16 bytes: the UUID it is on the wire, or one derived from any other text.
    static func key(_ id: String) -> UUID {
        UUID(uuidString: id) ?? UUID(derivedFrom: id)
    }

    /// Seconds since 2001 of a time (`Int32.min` when unknown).
    static func second(_ date: Date?) -> Int32 {
        guard let date else { return .min }
        return Int32(clamping: Int64(date.timeIntervalSinceReferenceDate.rounded(.down)))
    }

    static func date(ofSecond second: Int32) -> Date? {
        second == .min ? nil : Date(timeIntervalSinceReferenceDate: TimeInterval(second))
    }
}
