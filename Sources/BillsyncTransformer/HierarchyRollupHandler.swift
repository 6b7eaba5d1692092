import BillsyncMapping
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
///
/// Its state is the facts it writes to the compacted facts topic with the totals: an input is
/// done only once the broker has both, and a starting role reads every fact back into a fresh
/// store first. The store is updated as the batch is handled (the totals need it); when the
/// outputs are not acknowledged the stage stops, and the restart rebuilds the store from what
/// was acknowledged and handles those inputs again.
public struct HierarchyRollupHandler: StageHandler {
    public typealias Input = MessageEnvelope<AnyBillingRecord>

    /// Totals are derived from a raw record that the transformer also derives its own upserts
    /// from (indices 0, 1, …); numbering them from here keeps their message ids apart.
    static let lineageIndexBase = 1_000_000

    /// Facts are numbered from here within their raw record's lineage.
    static let factIndexBase = 2_000_000

    public let mapping: MappingDocument.HierarchyMapping
    public let store: HierarchyStore
    public let writer: UpsertWriter
    public let factsTopic: String
    let contracts: MessageContracts

    public init(mapping: MappingDocument.HierarchyMapping, store: HierarchyStore, writer: UpsertWriter, factsTopic: String,
                contracts: MessageContracts) {
        self.mapping = mapping
        self.store = store
        self.writer = writer
        self.factsTopic = factsTopic
        self.contracts = contracts
    }

    /// The facts topic as the role's table: read whole into the store before the first input
    /// (not followed: only this role writes it).
    public func factsTable() -> CompactedTable {
        CompactedTable(topic: factsTopic, follows: false) { [store, contracts] messages in
            let facts = messages.compactMap { message in message.value.flatMap { try? contracts.decode($0, as: HierarchyFact.self).payload } }
            try await BlockingWork.run { try store.restore(facts) }
        }
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
            var outputs: [[OutgoingMessage]] = []
            for message in batch {
                let change = try store.record(message.envelope.payload.fields, type: message.envelope.type)
                affected.formUnion(change.affected)
                outputs.append(try change.facts.enumerated().map { index, fact in
                    try OutgoingMessage(topic: factsTopic, message: message.envelope.derived(businessKey: fact.key, index: Self.factIndexBase + index,
                                                                                             payload: fact), contracts: contracts)
                })
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
            outputs[batch.count - 1] += try writer.commit(pending)
            return outputs.map { .success($0) }
        } catch {
            // The store is local; a failure here is the disk or SQLite, worth retrying.
            let failure = StageFailure.transient("rollup.store", "hierarchy store: \(error)")
            return batch.map { _ in .failure(failure) }
        }
    }

    public func acknowledged(_ outputs: [OutgoingMessage]) async throws {
        writer.acknowledged(outputs)
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
