import BillsyncTopics
import Foundation

/// Where an open item stands, by the rules the sync report has always applied: a dead letter
/// first, then a final result, then retry copies, then the stage's committed offsets.
extension FleetLedger {
    typealias Outcome = SyncLedger.Outcome

    /// One flow of a record: where it goes, where it stands, and whether an upsert was made for it.
    struct FlowState {
        var flow: SyncLedger.Flow
        var outcome: Outcome
        var transformed: Bool
        /// 0 into Salesforce, 1 back to billing: the order of a record's entries.
        var order: Int
    }

    /// Whether the stage's group committed past this message.
    func handled(_ stage: UInt8, _ partition: UInt16, _ offset: Int64) -> Bool {
        let row = committed[Int(stage)]
        return Int(partition) < row.count && row[Int(partition)] > offset
    }

    /// The stage's part in a message's fate: dead-lettered, the final outcome found, retrying,
    /// or pending; nil when the stage handled it and nothing came of it.
    func outcome(at stage: UInt8, dead: Bool, final: Outcome?, id: UUID, retried: Bool, partition: UInt16, offset: Int64) -> Outcome? {
        let name = StageBits.stages[Int(stage)]
        if dead { return .deadLettered(stage: name) }
        if let final { return final }
        if retried, let copies = retryCopies[id]?.filter({ $0.stage == stage }), !copies.isEmpty {
            return copies.contains { !handled($0.stage, $0.partition, $0.offset) } ? .retrying(stage: name) : nil
        }
        return handled(stage, partition, offset) ? nil : .pending(stage: name)
    }

    static func loaded(_ mark: UInt8, stage: Stage) -> Outcome? {
        switch mark {
        case LoadMark.created: .created
        case LoadMark.updated: .updated
        case LoadMark.failed: .unaccounted(stage: stage, reason: "a failed result without a dead letter")
        default: nil
        }
    }

    /// An upsert's load into the CRM.
    func load(_ upsert: OpenUpsert) -> Outcome {
        outcome(at: StageBits.loader, dead: upsert.has(OpenUpsert.deadAtLoader), final: Self.loaded(upsert.load, stage: .loader), id: upsert.id,
                retried: upsert.has(OpenUpsert.retried), partition: upsert.partition, offset: upsert.offset)
            ?? .unaccounted(stage: .loader, reason: "handled without a load result")
    }

    /// A record's flows (into Salesforce, back to billing), each with its outcome. With several
    /// upserts, the worst of their loads decides.
    func flows(of record: OpenRecord) -> [FlowState] {
        var states: [FlowState] = []
        let type = interned.types[UInt32(record.type)]
        let entity = SyncLedger.entity(ofRecordType: type)
        if record.has(OpenRecord.toSalesforce) {
            var final: Outcome?
            var object: UInt16?
            var slot = record.firstUpsert
            while slot != Self.none {
                let upsert = upserts[Int(slot)]
                if object == nil { object = upsert.object }
                let load = load(upsert)
                if final.map({ load.severity > $0.severity }) ?? true { final = load }
                slot = upsert.next
            }
            let bit = UInt16(1) << UInt16(StageBits.transformer)
            let outcome = self.outcome(at: StageBits.transformer, dead: record.deadAt & bit != 0, final: final, id: record.id,
                                       retried: record.retriedAt & bit != 0, partition: record.partition, offset: record.offset) ?? .unchanged
            let name = object.map { interned.objects[UInt32($0)] } ?? configuration.objects[type] ?? type
            states.append(FlowState(flow: SyncLedger.Flow(object: name, from: entity, direction: .toSalesforce), outcome: outcome,
                                    transformed: object != nil, order: 0))
        }
        if record.has(OpenRecord.toBilling) {
            let bit = UInt16(1) << UInt16(StageBits.loaderBilling)
            let outcome = self.outcome(at: StageBits.loaderBilling, dead: record.deadAt & bit != 0,
                                       final: Self.loaded(record.billing, stage: .loaderBilling), id: record.id,
                                       retried: record.retriedAt & bit != 0, partition: record.partition, offset: record.offset)
                ?? .unaccounted(stage: .loaderBilling, reason: "handled without an upload result")
            states.append(FlowState(flow: SyncLedger.Flow(object: "billing upload", from: entity, direction: .toBilling), outcome: outcome,
                                    transformed: false, order: 1))
        }
        return states
    }

    /// A roll-up total's one flow.
    func flow(ofRollup upsert: OpenUpsert) -> FlowState {
        FlowState(flow: SyncLedger.Flow(object: interned.objects[UInt32(upsert.object)], from: "hierarchy totals", direction: .rollup),
                  outcome: load(upsert), transformed: true, order: 0)
    }

    /// Whether every accounting stage reading this partition committed past the offset.
    func passed(_ partition: UInt16, _ offset: Int64) -> Bool {
        var readers = partitions.readers[Int(partition)]
        while readers != 0 {
            let bit = UInt8(readers.trailingZeroBitCount)
            guard handled(bit, partition, offset) else { return false }
            readers &= readers - 1
        }
        return true
    }

    /// Whether every retry copy of the message, at a stage the ledger follows, was handled.
    func retriesPassed(_ id: UUID) -> Bool {
        guard let copies = retryCopies[id] else { return true }
        return copies.allSatisfy { !committed[Int($0.stage)].isEmpty ? handled($0.stage, $0.partition, $0.offset) : true }
    }

    /// A record reached its end: every flow final, and every stage reading it, its own upserts
    /// and their retry copies committed past them, so nothing more can come of it.
    func hasEnded(_ record: OpenRecord) -> Bool {
        guard passed(record.partition, record.offset), retriesPassed(record.id) else { return false }
        var slot = record.firstUpsert
        while slot != Self.none {
            let upsert = upserts[Int(slot)]
            guard passed(upsert.partition, upsert.offset), retriesPassed(upsert.id) else { return false }
            slot = upsert.next
        }
        return flows(of: record).allSatisfy(\.outcome.isFinal)
    }

    func hasEnded(rollup upsert: OpenUpsert) -> Bool {
        passed(upsert.partition, upsert.offset) && retriesPassed(upsert.id) && load(upsert).isFinal
    }

    /// The stages, among those reading the partition, whose group committed past the offset.
    func handledBy(_ partition: UInt16, _ offset: Int64) -> [Stage] {
        var stages: [Stage] = []
        var readers = partitions.readers[Int(partition)]
        while readers != 0 {
            let bit = UInt8(readers.trailingZeroBitCount)
            if handled(bit, partition, offset) { stages.append(StageBits.stages[Int(bit)]) }
            readers &= readers - 1
        }
        return stages
    }
}
