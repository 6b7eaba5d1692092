import BillsyncTopics
import Foundation

/// A run's accounting, answered from the counters of its scope and its records still open.
extension FleetLedger {
    /// The accounting of the records of `sources` (every source when nil) extracted within
    /// `period` (any time when nil). Counters are kept by whole seconds: a record counts when the
    /// second it was extracted in lies within the period's seconds.
    public func ledger(sources: Set<String>? = nil, extractedWithin period: ClosedRange<Date>? = nil) -> SyncLedger {
        let sourceIndexes: Set<UInt32>? = sources.map { Set($0.compactMap { interned.sources.find($0) }) }
        let seconds = period.map { Self.second($0.lowerBound)...Self.second($0.upperBound) }
        func inScope(_ scope: ScopeKey) -> Bool {
            if let sourceIndexes, !sourceIndexes.contains(scope.source) { return false }
            guard let seconds else { return true }
            return scope.second != .min && seconds.contains(scope.second)
        }
        var total = LedgerTally()
        for (scope, tally) in tallies where inScope(scope) { total.add(tally) }
        var rows: [SyncLedger.Flow: SyncLedger.Row] = [:]
        for row in total.rows.values { rows[row.flow] = row }
        var entries: [(sequence: Int, entry: SyncLedger.Entry)] = kept.filter { inScope($0.scope) }.map { ($0.sequence, $0.entry) }
        var ledger = SyncLedger()
        var listed = 0
        func add(_ state: FlowState, extracted: Bool, listing: Bool, sequence: Int, entry: () -> SyncLedger.Entry) {
            var row = rows[state.flow] ?? SyncLedger.Row(flow: state.flow)
            if extracted { row.extracted += 1 }
            if state.transformed { row.transformed += 1 }
            row.count(state.outcome)
            rows[state.flow] = row
            let final = state.outcome.isFinal
            if !final { ledger.unfinished += 1 }
            if listing || (!final && listed < Self.openEntriesListed) {
                if !listing { listed += 1 }
                entries.append((sequence, entry()))
            }
        }
        for record in records where !record.has(OpenRecord.free) && inScope(ScopeKey(source: record.source, second: record.second)) {
            let listing = configuration.keepsEveryEntry || record.has(OpenRecord.watched)
            for state in flows(of: record) {
                add(state, extracted: true, listing: listing, sequence: record.sequence * 2 + state.order) {
                    SyncLedger.Entry(record: rawRecord(record), flow: state.flow, outcome: state.outcome)
                }
                if state.flow.direction == .toSalesforce, record.cycle != 0 {
                    let cycle = UInt32(record.cycle) << 16 | UInt32(record.type)
                    var counts = total.cycles[cycle]
                        ?? SyncLedger.CycleRow(cycle: interned.cycles[UInt32(record.cycle)], type: interned.types[UInt32(record.type)])
                    counts.count(state.outcome)
                    total.cycles[cycle] = counts
                }
            }
            for stage in handledBy(record.partition, record.offset) { total.stages[stage, default: .init()].handled += 1 }
            var slot = record.firstUpsert
            while slot != Self.none {
                if handledBy(upserts[Int(slot)].partition, upserts[Int(slot)].offset).contains(.loader) {
                    total.stages[.loader, default: .init()].handled += 1
                }
                slot = upserts[Int(slot)].next
            }
        }
        for (slot, upsert) in upserts.enumerated()
        where upsert.has(OpenUpsert.rollup) && !upsert.has(OpenUpsert.free) && inScope(scope(ofUpsert: slot)) {
            let state = flow(ofRollup: upsert)
            add(state, extracted: false, listing: configuration.keepsEveryEntry, sequence: Int.max / 2 + slot) {
                SyncLedger.Entry(upsert: rollupUpsert(slot), flow: state.flow, outcome: state.outcome)
            }
            if handledBy(upsert.partition, upsert.offset).contains(.loader) { total.stages[.loader, default: .init()].handled += 1 }
        }
        ledger.rows = rows.values.sorted { $0.flow < $1.flow }
        ledger.entries = entries.sorted { $0.sequence < $1.sequence }.map(\.entry)
        ledger.recordsExtracted = total.extracted
        ledger.refusedRows = total.refused
        ledger.unrouted = total.unrouted
        ledger.refusedLines = Set(refusedLines.filter { inScope($0.scope) }.map(\.line))
        ledger.deadLetterGroups = total.groups.values.map { tally in
            var group = tally.group
            group.examples = tally.examples.map(\.example)
            return group
        }.sorted { ($0.count, $1.stage, $1.code) > ($1.count, $0.stage, $0.code) }
        ledger.retried = total.retried
        ledger.stages = total.stages
        ledger.lastWritten = total.lastWritten
        ledger.billingCycles = total.cycles.values.sorted { ($0.cycle, $0.type) < ($1.cycle, $1.type) }
        ledger.samples = samples.marking { change in change.scope.map(inScope) ?? false }
        ledger.committed = committedSums
        return ledger
    }

    /// An open record as the report names it.
    func rawRecord(_ record: OpenRecord) -> FleetFacts.RawRecord {
        FleetFacts.RawRecord(id: record.id.uuidString.lowercased(), type: interned.types[UInt32(record.type)], businessKey: record.businessKey,
                             sourceName: interned.sources[record.source], position: partitions.position(record.partition, offset: record.offset),
                             file: interned.files.name(record.file), line: record.line == .min ? nil : Int(record.line),
                             extractedAt: Self.date(ofSecond: record.second), billingCycle: interned.cycles.name(UInt32(record.cycle)))
    }

    func rollupUpsert(_ slot: Int) -> FleetFacts.Upsert {
        let upsert = upserts[slot]
        return FleetFacts.Upsert(id: upsert.id.uuidString.lowercased(), causationId: "", object: interned.objects[UInt32(upsert.object)],
                                 externalId: rollups[UInt32(slot)]?.externalId ?? "", writtenBy: .rollup,
                                 position: partitions.position(upsert.partition, offset: upsert.offset))
    }
}
