import BillsyncTopics
import Foundation

/// The counters of one source and second of extraction: the records that reached their end
/// (by flow and outcome), and what is counted as it is read (records extracted, refused rows,
/// dead letters by group, retries, outputs written and when).
struct LedgerTally: Sendable {
    var rows: [UInt16: SyncLedger.Row] = [:]
    var extracted = 0
    var unrouted: [String: Int] = [:]
    var refused: [String: Int] = [:]
    var groups: [String: GroupTally] = [:]
    var retried: [Stage: Int] = [:]
    /// By billing cycle and record type (their interned indexes, `cycle << 16 | type`).
    var cycles: [UInt32: SyncLedger.CycleRow] = [:]
    var stages: [Stage: SyncLedger.StageCount] = [:]
    var lastWritten: [Stage: Date] = [:]

    /// Dead letters of one stage, code and field, with the first examples read.
    struct GroupTally: Sendable {
        var group: SyncLedger.DeadLetterGroup
        var firstSequence: Int
        var examples: [(sequence: Int, example: String)] = []

        mutating func add(_ other: GroupTally) {
            group.count += other.group.count
            if other.firstSequence < firstSequence {
                firstSequence = other.firstSequence
                group.reason = other.group.reason
            }
            examples = Array((examples + other.examples).sorted { $0.sequence < $1.sequence }.prefix(3))
        }
    }

    mutating func count(_ letter: FleetFacts.DeadLetter, sequence: Int) {
        let key = "\(letter.stage)|\(letter.code)|\(letter.field ?? "")"
        var tally = groups[key] ?? GroupTally(group: SyncLedger.DeadLetterGroup(stage: letter.stage, code: letter.code, field: letter.field,
                                                                               reason: letter.reason), firstSequence: sequence)
        tally.group.count += 1
        if tally.examples.count < 3 { tally.examples.append((sequence, letter.example)) }
        groups[key] = tally
    }

    mutating func wrote(_ stage: Stage, at date: Date?, counts: Bool) {
        if counts { stages[stage, default: .init()].written += 1 }
        guard let date else { return }
        lastWritten[stage] = max(lastWritten[stage] ?? date, date)
    }

    mutating func add(_ other: LedgerTally) {
        for (flow, row) in other.rows {
            if rows[flow] == nil { rows[flow] = row } else { rows[flow]!.add(row) }
        }
        extracted += other.extracted
        unrouted.merge(other.unrouted, uniquingKeysWith: +)
        refused.merge(other.refused, uniquingKeysWith: +)
        for (key, group) in other.groups {
            if groups[key] == nil { groups[key] = group } else { groups[key]!.add(group) }
        }
        retried.merge(other.retried, uniquingKeysWith: +)
        for (key, cycle) in other.cycles {
            if cycles[key] == nil { cycles[key] = cycle } else { cycles[key]!.add(cycle) }
        }
        stages.merge(other.stages) { SyncLedger.StageCount(handled: $0.handled + $1.handled, written: $0.written + $1.written) }
        lastWritten.merge(other.lastWritten, uniquingKeysWith: max)
    }
}
