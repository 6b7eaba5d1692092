import BillsyncContracts
import BillsyncJSON
import Foundation

/// The field values of a bounded sample of CRM records, for reconciling the CRM with what
/// billsync sent: per object, the records upserted most recently (at most `capacity`), each with
/// its latest changes (at most `changesPerRecord`), each with the sink's last word on it once the
/// ledger read it. Nothing else of an upsert's fields is kept, so the ledger of a large run stays small.
public struct UpsertSamples: Sendable {
    /// One upsert of a sampled record.
    public struct Change: Sendable, Hashable {
        /// The upsert's message id (a load result's `causationId`).
        public var id: String
        /// Field values as sent; nil for a field sent empty. Decimals as
        /// `SyncReport.Reconciliation.comparable` writes them, booleans `true`/`false`.
        public var fields: [String: String?]
        /// The sink's latest result for it (`created`, `updated`, `failed`), nil while none came.
        public var outcome: String?
        /// The loader dead-lettered it.
        public var deadLettered = false
        /// It is an upsert of the run a `SyncLedger` accounts for (set by `FleetLedger.ledger`).
        public var ofRun = false
        /// The source and second of extraction of the record it was made from, once the ledger knows it.
        var scope: FleetLedger.ScopeKey?

        public init(id: String, fields: [String: String?]) {
            self.id = id
            self.fields = fields
        }

        /// Whether it has its final word: a result or a dead letter.
        public var isSettled: Bool { outcome != nil || deadLettered }
        /// Whether the CRM took its values.
        public var isLoaded: Bool { outcome == "created" || outcome == "updated" }
    }

    /// A sampled record and its latest changes, oldest first.
    public struct Record: Sendable, Hashable {
        public var object: String
        public var externalIdField: String
        public var externalId: String
        public var changes: [Change]
    }

    /// Records kept per object.
    public var capacity: Int
    /// Changes kept per record (a record is upserted by the transformer and again by the roll-up).
    public var changesPerRecord: Int
    /// Per object: records by external id, and their external ids from least to most recently upserted.
    private var records: [String: [String: Record]] = [:]
    private var recency: [String: [String]] = [:]
    /// Change id → its record's object and external id, to note results by id.
    private var changes: [String: (object: String, externalId: String)] = [:]

    public init(capacity: Int = 100, changesPerRecord: Int = 4) {
        self.capacity = max(1, capacity)
        self.changesPerRecord = max(1, changesPerRecord)
    }

    /// Objects with sampled records, by name.
    public var objects: [String] { records.keys.sorted() }

    /// An object's sampled records, most recently upserted first.
    public func records(of object: String) -> [Record] {
        (recency[object] ?? []).reversed().compactMap { records[object]?[$0] }
    }

    /// Keeps an upsert: its record becomes the object's most recent, and the least recent
    /// record goes when the object has more than `capacity`.
    public mutating func keep(id: String, object: String, externalIdField: String, externalId: String, fields: [String: String?]) {
        var record = records[object]?[externalId]
            ?? Record(object: object, externalIdField: externalIdField, externalId: externalId, changes: [])
        record.externalIdField = externalIdField
        record.changes.append(Change(id: id, fields: fields))
        changes[id] = (object, externalId)
        if record.changes.count > changesPerRecord {
            for dropped in record.changes.prefix(record.changes.count - changesPerRecord) { changes[dropped.id] = nil }
            record.changes.removeFirst(record.changes.count - changesPerRecord)
        }
        var order = recency[object] ?? []
        if records[object]?[externalId] != nil, let index = order.lastIndex(of: externalId) { order.remove(at: index) }
        order.append(externalId)
        records[object, default: [:]][externalId] = record
        while order.count > capacity {
            let evicted = order.removeFirst()
            for change in records[object]?[evicted]?.changes ?? [] { changes[change.id] = nil }
            records[object]?[evicted] = nil
        }
        recency[object] = order
    }

    /// Changes the sampled change with this id, if it is one.
    mutating func update(_ id: String, _ change: (inout Change) -> Void) {
        guard let (object, externalId) = changes[id],
              let index = records[object]?[externalId]?.changes.firstIndex(where: { $0.id == id }) else { return }
        change(&records[object]![externalId]!.changes[index])
    }

    /// The samples with each change's `ofRun` set by `isOfRun`.
    func marking(_ isOfRun: (Change) -> Bool) -> UpsertSamples {
        var marked = self
        for (object, byKey) in records {
            for (key, record) in byKey {
                var record = record
                for index in record.changes.indices { record.changes[index].ofRun = isOfRun(record.changes[index]) }
                marked.records[object]![key] = record
            }
        }
        return marked
    }

    /// Keeps an upsert command (a `crm-upsert` message's `payload`) as it was on the topic.
    public mutating func keep(id: String, payload: JSONValue) {
        guard let object = payload["object"]?.stringValue, let field = payload["externalIdField"]?.stringValue,
              let externalId = payload["externalId"]?.stringValue, case let .object(members)? = payload["fields"] else { return }
        var fields: [String: String?] = [:]
        for name in members.keys {
            switch members[name]! {
            case let .string(text): fields[name] = .some(text)
            case let .bool(bool): fields[name] = .some(bool ? "true" : "false")
            case let .number(number): fields[name] = .some(SyncReport.Reconciliation.comparable(number.decimal))
            case .null: fields[name] = .some(nil)
            case .array, .object: continue
            }
        }
        keep(id: id, object: object, externalIdField: field, externalId: externalId, fields: fields)
    }
}
