import BillsyncTopics
import Foundation

/// The end of a refresh: what reached its end leaves the open set for counters.
extension FleetLedger {
    /// Called after each refresh read the topics to their end. A record or roll-up total that
    /// reached its end at this refresh and at the previous one becomes counters of its scope
    /// (and an entry, when watched); an effect that waited two refreshes for its cause is let go
    /// (a dead letter is still counted, with its own record's source and time); storage left
    /// mostly empty by a drained backlog is given back.
    public mutating func settle() {
        for slot in records.indices where !records[slot].has(OpenRecord.free) {
            guard hasEnded(records[slot]) else {
                records[slot].flags &= ~OpenRecord.closable
                continue
            }
            if records[slot].has(OpenRecord.closable) { close(record: slot) } else { records[slot].flags |= OpenRecord.closable }
        }
        for slot in upserts.indices where upserts[slot].has(OpenUpsert.rollup) && !upserts[slot].has(OpenUpsert.free) {
            guard hasEnded(rollup: upserts[slot]) else {
                upserts[slot].flags &= ~OpenUpsert.closable
                continue
            }
            if upserts[slot].has(OpenUpsert.closable) { close(rollup: slot) } else { upserts[slot].flags |= OpenUpsert.closable }
        }
        for waiting in olderOrphans.values {
            for case let .deadLetter(letter) in waiting { countAlone(letter) }
        }
        olderOrphans = orphans
        orphans = [:]
        compactIfSparse()
    }

    /// Forgets the counters and kept entries of records extracted before `date` (what no run
    /// still checked can ask for), so a long-running observer stays small.
    public mutating func forget(extractedBefore date: Date) {
        let cutoff = Self.second(date)
        tallies = tallies.filter { $0.key.second == .min || $0.key.second >= cutoff }
        kept.removeAll { $0.scope.second != .min && $0.scope.second < cutoff }
        refusedLines.removeAll { $0.scope.second != .min && $0.scope.second < cutoff }
    }

    mutating func close(record slot: Int) {
        let record = records[slot]
        let scope = ScopeKey(source: record.source, second: record.second)
        var tally = tallies.removeValue(forKey: scope) ?? LedgerTally()
        let keeps = configuration.keepsEveryEntry || record.has(OpenRecord.watched)
        for state in flows(of: record) {
            let key = interned.flow(state.flow)
            var row = tally.rows[key] ?? SyncLedger.Row(flow: state.flow)
            row.extracted += 1
            if state.transformed { row.transformed += 1 }
            row.count(state.outcome)
            tally.rows[key] = row
            if state.flow.direction == .toSalesforce, record.cycle != 0 {
                let cycle = UInt32(record.cycle) << 16 | UInt32(record.type)
                var counts = tally.cycles[cycle]
                    ?? SyncLedger.CycleRow(cycle: interned.cycles[UInt32(record.cycle)], type: interned.types[UInt32(record.type)])
                counts.count(state.outcome)
                tally.cycles[cycle] = counts
            }
            if keeps {
                kept.append(KeptEntry(scope: scope, sequence: record.sequence * 2 + state.order,
                                      entry: SyncLedger.Entry(record: rawRecord(record), flow: state.flow, outcome: state.outcome)))
            }
        }
        for stage in handledBy(record.partition, record.offset) { tally.stages[stage, default: .init()].handled += 1 }
        var upsert = record.firstUpsert
        while upsert != Self.none {
            let next = upserts[Int(upsert)].next
            if handledBy(upserts[Int(upsert)].partition, upserts[Int(upsert)].offset).contains(.loader) {
                tally.stages[.loader, default: .init()].handled += 1
            }
            free(upsert: Int(upsert))
            upsert = next
        }
        tallies[scope] = tally
        removeIndex(record.id)
        retryCopies[record.id] = nil
        records[slot].flags = OpenRecord.free
        records[slot].businessKey = ""
        freeRecords.append(UInt32(slot))
    }

    mutating func close(rollup slot: Int) {
        let upsert = upserts[slot]
        let scope = self.scope(ofUpsert: slot)
        let state = flow(ofRollup: upsert)
        let key = interned.flow(state.flow)
        var tally = tallies.removeValue(forKey: scope) ?? LedgerTally()
        var row = tally.rows[key] ?? SyncLedger.Row(flow: state.flow)
        row.transformed += 1
        row.count(state.outcome)
        tally.rows[key] = row
        if handledBy(upsert.partition, upsert.offset).contains(.loader) { tally.stages[.loader, default: .init()].handled += 1 }
        tallies[scope] = tally
        if configuration.keepsEveryEntry {
            kept.append(KeptEntry(scope: scope, sequence: Int.max / 2 + slot,
                                  entry: SyncLedger.Entry(upsert: rollupUpsert(slot), flow: state.flow, outcome: state.outcome)))
        }
        free(upsert: slot)
    }

    mutating func free(upsert slot: Int) {
        removeIndex(upserts[slot].id)
        retryCopies[upserts[slot].id] = nil
        rollups[UInt32(slot)] = nil
        upserts[slot].flags = OpenUpsert.free
        freeUpserts.append(UInt32(slot))
    }

    /// A dead letter whose record was never read (another source's, or older than the topics'
    /// retention): counted with the source and time its own message carries, when it says.
    mutating func countAlone(_ letter: FleetFacts.DeadLetter) {
        guard let source = letter.recordSource, let extractedAt = letter.extractedAt, follows(source) else { return }
        sequence += 1
        let scope = ScopeKey(source: interned.sources.index(source), second: Self.second(extractedAt))
        tallies[scope, default: LedgerTally()].count(letter, sequence: sequence)
    }

    /// Rebuilds the slot arrays and the index once a backlog drained and left them mostly empty:
    /// neither arrays nor dictionaries give memory back by themselves.
    mutating func compactIfSparse() {
        let liveRecords = records.count - freeRecords.count
        let liveUpserts = upserts.count - freeUpserts.count
        let sparse = { (count: Int, live: Int) in count > 16_384 && live * 4 < count }
        guard sparse(records.count, liveRecords) || sparse(upserts.count, liveUpserts) else { return }
        var recordSlots: [UInt32: UInt32] = [:]
        var upsertSlots: [UInt32: UInt32] = [:]
        var newRecords: [OpenRecord] = []
        var newUpserts: [OpenUpsert] = []
        newRecords.reserveCapacity(liveRecords)
        newUpserts.reserveCapacity(liveUpserts)
        for (slot, record) in records.enumerated() where !record.has(OpenRecord.free) {
            recordSlots[UInt32(slot)] = UInt32(newRecords.count)
            newRecords.append(record)
        }
        for (slot, upsert) in upserts.enumerated() where !upsert.has(OpenUpsert.free) {
            upsertSlots[UInt32(slot)] = UInt32(newUpserts.count)
            newUpserts.append(upsert)
        }
        func mapped(_ slot: UInt32, _ table: [UInt32: UInt32]) -> UInt32 { slot == Self.none ? slot : table[slot]! }
        for index in newRecords.indices { newRecords[index].firstUpsert = mapped(newRecords[index].firstUpsert, upsertSlots) }
        for index in newUpserts.indices {
            newUpserts[index].next = mapped(newUpserts[index].next, upsertSlots)
            newUpserts[index].cause = mapped(newUpserts[index].cause, recordSlots)
        }
        rollups = Dictionary(uniqueKeysWithValues: rollups.map { (upsertSlots[$0.key]!, $0.value) })
        records = newRecords
        upserts = newUpserts
        freeRecords = []
        freeUpserts = []
        slots = SlotIndex()
        rehashIndex(for: liveRecords + liveUpserts)
        for slot in records.indices { insertIndex(UInt32(slot)) }
        for slot in upserts.indices { insertIndex(UInt32(slot) | Self.upsertFlag) }
    }
}
