import BillsyncContracts
import BillsyncOperations
import BillsyncTopics
import Foundation

/// Reads a sample of a run's loaded records back from the CRM and compares them, field by
/// field, with what billsync sent last (the ledger's `samples`, each change with the sink's word
/// on it): a field the CRM holds differently is a mismatch, a record it does not have is missing.
///
/// A record is sampled only when the run upserted it and its latest upsert has its final word
/// (loaded, failed or dead-lettered): one still in flight could not be judged yet. The values
/// expected are, per field, the last one sent by an upsert that loaded; an upsert that failed
/// changed nothing in the CRM, and a field no upsert sent is not compared. Objects take turns,
/// so every object of the run is represented.
public struct Reconciler: Sendable {
    /// What the CRM should hold for one record.
    public struct Expectation: Sendable, Hashable {
        public var object: String
        public var externalIdField: String
        public var externalId: String
        /// Field values; nil for a field sent empty.
        public var fields: [String: String?]
    }

    public var readBack: any CRMReadBack
    /// Records read back at most (one API call each).
    public var sampleSize: Int
    /// Longest value kept in a mismatch.
    public static let valueLength = 1000

    public init(readBack: any CRMReadBack, sampleSize: Int = 20) {
        self.readBack = readBack
        self.sampleSize = sampleSize
    }

    /// Reads the sample back and compares. A record that cannot be read is reported as
    /// unreadable, with why; only cancellation throws.
    public func reconcile(ledger: SyncLedger) async throws -> SyncReport.Reconciliation {
        var matched = 0
        var mismatched: [SyncReport.Reconciliation.Mismatch] = []
        var missing: [SyncReport.RecordReference] = []
        var unreadable: [SyncReport.Reconciliation.Unreadable] = []
        let sample = expectations(ledger: ledger)
        for expected in sample {
            try Task.checkCancellation()
            let actual: [String: String]?
            do {
                actual = try await readBack.record(object: expected.object, externalIdField: expected.externalIdField, externalId: expected.externalId)
            } catch {
                unreadable.append(.init(object: expected.object, externalId: expected.externalId, reason: SyncRunReport.clipped("\(error)", to: 4000)))
                continue
            }
            guard let actual else {
                missing.append(SyncReport.RecordReference(object: expected.object, externalId: expected.externalId))
                continue
            }
            let differences = Self.differences(expected: expected.fields, actual: actual)
            if differences.isEmpty { matched += 1 }
            mismatched += differences.map {
                .init(object: expected.object, externalId: expected.externalId, field: $0.field,
                      expected: $0.expected.map { SyncRunReport.clipped($0, to: Self.valueLength) },
                      actual: $0.actual.map { SyncRunReport.clipped($0, to: Self.valueLength) })
            }
        }
        return SyncReport.Reconciliation(sampled: sample.count, matched: matched, mismatched: mismatched, missing: missing, unreadable: unreadable)
    }

    /// The records to read back and what each should hold, at most `sampleSize`.
    public func expectations(ledger: SyncLedger) -> [Expectation] {
        let samples = ledger.samples
        var queues: [[Expectation]] = samples.objects.map { object in
            samples.records(of: object).compactMap { record in
                guard record.changes.contains(where: \.ofRun), let latest = record.changes.last, latest.isSettled else { return nil }
                var fields: [String: String?] = [:]
                for change in record.changes where change.isLoaded { fields.merge(change.fields) { _, new in new } }
                guard !fields.isEmpty || record.changes.contains(where: \.isLoaded) else { return nil }
                return Expectation(object: record.object, externalIdField: record.externalIdField, externalId: record.externalId, fields: fields)
            }
        }
        var chosen: [Expectation] = []
        while chosen.count < sampleSize, queues.contains(where: { !$0.isEmpty }) {
            for index in queues.indices where !queues[index].isEmpty && chosen.count < sampleSize {
                chosen.append(queues[index].removeFirst())
            }
        }
        return chosen
    }

    /// Fields whose value in the CRM is not the one expected, by field name. Field names are
    /// matched without regard to case, as Salesforce does; an empty expected value matches an
    /// empty (absent) field.
    public static func differences(expected: [String: String?], actual: [String: String]) -> [(field: String, expected: String?, actual: String?)] {
        var byName: [String: String] = [:]
        for (name, value) in actual { byName[name.lowercased()] = value }
        return expected.keys.sorted().compactMap { field in
            let want = expected[field] ?? nil
            let have = byName[field.lowercased()]
            let same = (want ?? "").isEmpty ? (have ?? "").isEmpty : want == have
            return same ? nil : (field, want, have)
        }
    }
}
