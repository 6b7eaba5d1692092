import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncTopics
import Foundation

/// Taking messages one at a time, in any order: an effect whose cause is not open yet waits
/// for it (`orphans`); one whose cause is open changes that item's state and its scope's counters.
extension FleetLedger {
    /// A raw record. One of a type no running stage reads is only counted.
    public mutating func take(_ record: FleetFacts.RawRecord) {
        guard follows(record.sourceName) else { return }
        let id = Self.key(record.id)
        // A copy of a record in flight (a producer's retry) is the same record.
        guard lookup(id) == nil else { return }
        sequence += 1
        let scope = ScopeKey(source: interned.sources.index(record.sourceName), second: Self.second(record.extractedAt))
        tallies[scope, default: LedgerTally()].extracted += 1
        let salesforce = configuration.transformedTypes.contains(record.type)
        let billing = configuration.billingTypes.contains(record.type)
        guard salesforce || billing else {
            tallies[scope, default: LedgerTally()].unrouted[record.type, default: 0] += 1
            return
        }
        var open = OpenRecord(id: id, businessKey: record.businessKey, offset: record.position.offset, sequence: sequence, second: scope.second,
                              line: record.line.map { Int32(clamping: $0) } ?? .min, file: interned.files.index(record.file),
                              source: scope.source, partition: partition(of: record.position),
                              type: UInt16(clamping: interned.types.index(record.type)),
                              cycle: UInt16(exactly: interned.cycles.index(record.billingCycle)) ?? 0)
        if salesforce { open.flags |= OpenRecord.toSalesforce }
        if billing { open.flags |= OpenRecord.toBilling }
        if isWatched(file: record.file, line: record.line, key: record.businessKey) { open.flags |= OpenRecord.watched }
        insertIndex(storeRecord(open))
        adopt(id)
    }

    /// An upsert command; `payload` (its fields) is sampled for the reconciliation.
    public mutating func take(_ upsert: FleetFacts.Upsert, payload: JSONValue? = nil) {
        if let payload { samples.keep(id: upsert.id, payload: payload) }
        guard follows(upsert.sourceName) else { return }
        let rollup = upsert.writtenBy == .rollup
        let own = upsert.writtenBy == nil || upsert.writtenBy == .transformer
        let cause = lookup(Self.key(upsert.causationId)).flatMap { $0 & Self.upsertFlag == 0 ? Int($0) : nil }
        let scope: ScopeKey
        if let cause {
            scope = ScopeKey(source: records[cause].source, second: records[cause].second)
        } else if rollup, let source = upsert.sourceName, upsert.extractedAt != nil {
            // A total made from a record that already reached its end: counted with that record's run.
            scope = ScopeKey(source: interned.sources.index(source), second: Self.second(upsert.extractedAt))
        } else {
            if own || rollup { orphans[Self.key(upsert.causationId), default: []].append(.upsert(upsert)) }
            return
        }
        tallies[scope, default: LedgerTally()].wrote(upsert.writtenBy ?? .transformer, at: upsert.writtenAt, counts: upsert.writtenBy != nil)
        let id = Self.key(upsert.id)
        guard own || rollup, lookup(id) == nil else { return }
        var open = OpenUpsert(id: id, offset: upsert.position.offset, cause: rollup ? Self.none : UInt32(cause!), partition: partition(of: upsert.position),
                              object: UInt16(clamping: interned.objects.index(upsert.object)))
        if rollup { open.flags |= OpenUpsert.rollup }
        let slot = storeUpsert(open)
        if rollup {
            rollups[slot] = (upsert.externalId, scope)
        } else {
            link(slot, to: cause!)
        }
        insertIndex(slot | Self.upsertFlag)
        samples.update(upsert.id) { $0.scope = scope }
        adopt(id)
    }

    /// A sink's result: the loader's for an upsert, the billing sink's for a record.
    public mutating func take(_ result: FleetFacts.LoadResult) {
        guard follows(result.sourceName) else { return }
        guard let slot = lookup(Self.key(result.causationId)) else {
            orphans[Self.key(result.causationId), default: []].append(.result(result))
            return
        }
        let stage = Self.stage(ofSink: result.sink)
        if slot & Self.upsertFlag != 0 {
            let upsert = Int(slot & ~Self.upsertFlag)
            tallies[scope(ofUpsert: upsert), default: LedgerTally()].wrote(stage, at: result.writtenAt, counts: result.sink == "salesforce")
            guard result.sink == configuration.sink else { return }
            upserts[upsert].load = LoadMark.of(result.outcome)
            samples.update(result.causationId) { $0.outcome = result.outcome }
        } else {
            let record = Int(slot)
            tallies[scope(ofRecord: record), default: LedgerTally()].wrote(stage, at: result.writtenAt, counts: result.sink == "billing")
            guard result.sink == "billing" else { return }
            records[record].billing = LoadMark.of(result.outcome)
        }
    }

    /// A dead letter: of a record or upsert (its outcome), or a file row the extractor refused.
    public mutating func take(_ letter: FleetFacts.DeadLetter) {
        guard let originalId = letter.originalId else {
            // The extractor's refused rows: counted with their source, at the time they were refused.
            guard letter.stage == .extractor, configuration.sources.map({ letter.source.map($0.contains) ?? false }) ?? true else { return }
            sequence += 1
            let failed = letter.failedAt.flatMap(Timestamp.init(parsing:))?.date
            let scope = ScopeKey(source: interned.sources.index(letter.source ?? ""), second: Self.second(failed))
            if let file = letter.file {
                tallies[scope, default: LedgerTally()].refused[file, default: 0] += 1
                let line = "\(file):\(letter.line ?? 0)"
                if configuration.keepsEveryEntry || watchedRows.contains(line) { refusedLines.append((scope, line)) }
            }
            tallies[scope, default: LedgerTally()].count(letter, sequence: sequence)
            return
        }
        guard follows(letter.recordSource) else { return }
        let id = Self.key(originalId)
        guard let slot = lookup(id) else {
            orphans[id, default: []].append(.deadLetter(letter))
            return
        }
        sequence += 1
        let scope: ScopeKey
        if slot & Self.upsertFlag != 0 {
            let upsert = Int(slot & ~Self.upsertFlag)
            scope = self.scope(ofUpsert: upsert)
            if letter.stage == .loader {
                upserts[upsert].flags |= OpenUpsert.deadAtLoader
                samples.update(originalId) { $0.deadLettered = true }
            }
        } else {
            scope = self.scope(ofRecord: Int(slot))
            if let bit = StageBits.bit(of: letter.stage) { records[Int(slot)].deadAt |= 1 << UInt16(bit) }
        }
        tallies[scope, default: LedgerTally()].count(letter, sequence: sequence)
    }

    /// A copy waiting in a stage's retry topic.
    public mutating func take(_ copy: FleetFacts.RetryCopy) {
        guard follows(copy.sourceName) else { return }
        let id = Self.key(copy.originalId)
        guard let slot = lookup(id) else {
            orphans[id, default: []].append(.retryCopy(copy))
            return
        }
        guard let bit = StageBits.bit(of: copy.stage) else { return }
        let first = !(retryCopies[id]?.contains { $0.stage == bit } ?? false)
        retryCopies[id, default: []].append(RetryMark(stage: bit, partition: partition(of: copy.position), offset: copy.position.offset))
        let scope: ScopeKey
        if slot & Self.upsertFlag != 0 {
            let upsert = Int(slot & ~Self.upsertFlag)
            upserts[upsert].flags |= OpenUpsert.retried
            scope = self.scope(ofUpsert: upsert)
        } else {
            records[Int(slot)].retriedAt |= 1 << UInt16(bit)
            scope = self.scope(ofRecord: Int(slot))
        }
        if first { tallies[scope, default: LedgerTally()].retried[copy.stage, default: 0] += 1 }
    }

    /// A stage's committed offsets (the next offset it will read, per partition it committed),
    /// as read at the start of a refresh.
    public mutating func setCommitted(_ offsets: [KafkaTopicPartition: Int64], of stage: Stage) {
        committedSums[stage] = offsets.values.reduce(0, +)
        guard let bit = StageBits.bit(of: stage) else { return }
        var row = Array(repeating: Int64(-1), count: partitions.topics.count)
        for (partition, next) in offsets {
            let index = Int(self.partition(topic: partition.topic, number: partition.partition))
            if index >= row.count { row += Array(repeating: -1, count: index + 1 - row.count) }
            row[index] = next
        }
        committed[Int(bit)] = row
    }

    // MARK: Helpers

    func follows(_ source: String?) -> Bool {
        guard let sources = configuration.sources, let source else { return true }
        return sources.contains(source)
    }

    func isWatched(file: String?, line: Int?, key: String) -> Bool {
        guard let file, !watchedRows.isEmpty || !watchedKeys.isEmpty else { return false }
        return watchedRows.contains("\(file):\(line ?? 0)") || watchedKeys.contains("\(file)|\(key)")
    }

    mutating func partition(of position: FleetFacts.Position) -> UInt16 {
        partition(topic: position.topic, number: position.partition)
    }

    mutating func partition(topic: String, number: Int32) -> UInt16 {
        partitions.index(topic: topic, partition: number, readers: configuration.readers[topic])
    }

    func scope(ofRecord slot: Int) -> ScopeKey { ScopeKey(source: records[slot].source, second: records[slot].second) }
    func scope(ofUpsert slot: Int) -> ScopeKey {
        let upsert = upserts[slot]
        return upsert.cause == Self.none ? rollups[UInt32(slot)]!.scope : scope(ofRecord: Int(upsert.cause))
    }

    static func stage(ofSink sink: String) -> Stage {
        switch sink {
        case CRMLoadResult.Sink.billing.rawValue: .loaderBilling
        case CRMLoadResult.Sink.postgres.rawValue: .loaderPostgres
        default: .loader
        }
    }

    mutating func storeRecord(_ record: OpenRecord) -> UInt32 {
        if let slot = freeRecords.popLast() {
            records[Int(slot)] = record
            return slot
        }
        records.append(record)
        return UInt32(records.count - 1)
    }

    mutating func storeUpsert(_ upsert: OpenUpsert) -> UInt32 {
        if let slot = freeUpserts.popLast() {
            upserts[Int(slot)] = upsert
            return slot
        }
        upserts.append(upsert)
        return UInt32(upserts.count - 1)
    }

    /// Appends an own upsert to its record's list (the first one names the flow's object).
    mutating func link(_ slot: UInt32, to record: Int) {
        guard records[record].firstUpsert != Self.none else {
            records[record].firstUpsert = slot
            return
        }
        var last = records[record].firstUpsert
        while upserts[Int(last)].next != Self.none { last = upserts[Int(last)].next }
        upserts[Int(last)].next = slot
    }

    /// Takes again what waited for this id, oldest first.
    mutating func adopt(_ id: UUID) {
        let waiting = (olderOrphans.removeValue(forKey: id) ?? []) + (orphans.removeValue(forKey: id) ?? [])
        for orphan in waiting {
            switch orphan {
            case let .upsert(upsert): take(upsert)
            case let .result(result): take(result)
            case let .deadLetter(letter): take(letter)
            case let .retryCopy(copy): take(copy)
            }
        }
    }
}
