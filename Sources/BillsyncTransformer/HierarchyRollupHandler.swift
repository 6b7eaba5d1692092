import BillsyncBlocking
import BillsyncContracts
import BillsyncRuntime
import BillsyncSQLite
import Foundation

/// The transformer's roll-up role: reads raw accounts, bills and premises, keeps the hierarchy
/// facts, and writes each C1 and C2 account's totals (over itself and every account below it)
/// as an upsert whenever something below it changed.
///
/// A hierarchy's accounts arrive on different partitions, so one instance must see them all:
/// run this role as a single replica (its consumer group then owns every partition). A second
/// replica would split the facts and write partial totals.
public struct HierarchyRollupHandler: StageHandler {
    public typealias Input = MessageEnvelope<AnyBillingRecord>

    /// Totals are derived from a raw record that the transformer also derives its own upserts
    /// from (indices 0, 1, …); numbering them from here keeps their message ids apart.
    static let lineageIndexBase = 1_000_000

    public let mapping: MappingDocument.HierarchyMapping
    public let store: HierarchyStore
    public let writer: UpsertWriter

    public init(mapping: MappingDocument.HierarchyMapping, store: HierarchyStore, writer: UpsertWriter) {
        self.mapping = mapping
        self.store = store
        self.writer = writer
    }

    public var batchSize: Int { 500 }

    /// The batch's work runs off the cooperative pool: the hierarchy store is SQLite.
    public func handle(_ batch: [ContractMessage<AnyBillingRecord>]) async -> [Result<[OutgoingMessage], StageFailure>] {
        await BlockingWork.run { [self] in rollUp(batch) }
    }

    func rollUp(_ batch: [ContractMessage<AnyBillingRecord>]) -> [Result<[OutgoingMessage], StageFailure>] {
        guard let last = batch.last else { return [] }
        do {
            var affected = Set<String>()
            for message in batch {
                affected.formUnion(try store.record(message.envelope.payload.fields, type: message.envelope.type))
            }
            // The totals are written once per batch, derived from its last record (their lineage
            // is the batch, and the last record completes it).
            var pending = UpsertWriter.Pending()
            let replayed = batch.contains { $0.replayID != nil }
            for (index, parent) in try store.parents(affectedBy: affected).enumerated() {
                guard let totals = try store.totals(of: parent) else { continue }
                try writer.add(upsert(totals), index: Self.lineageIndexBase + index, businessKey: totals.customerId, from: last.envelope,
                               replayed: replayed, to: &pending)
            }
            let outputs = writer.commit(pending)
            return batch.indices.map { $0 == batch.count - 1 ? .success(outputs) : .success([]) }
        } catch {
            // The store is local; a failure here is the disk or SQLite, worth retrying.
            let failure = StageFailure.transient("rollup.store", "hierarchy store: \(error)")
            return batch.map { _ in .failure(failure) }
        }
    }

    public func acknowledged(_ outputs: [OutgoingMessage]) async throws {
        try await writer.acknowledged(outputs)
    }

    func upsert(_ totals: HierarchyStore.Totals) -> CRMUpsert {
        var fields: [String: CRMFieldValue] = [:]
        for (measure, field) in mapping.rollups {
            switch measure {
            case .amountDue: fields[field] = .decimal(totals.amountDue)
            case .revenue: fields[field] = .decimal(totals.revenue)
            case .activeServices: fields[field] = .decimal(Decimal(totals.activeServices))
            }
        }
        return CRMUpsert(object: mapping.object, externalIdField: mapping.externalIdField, externalId: totals.customerId, fields: fields)
    }
}
