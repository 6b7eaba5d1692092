import BillsyncContracts
import BillsyncOperations
import BillsyncTopics
import Foundation

/// The fleet-wide sync report of one run (or one day), built from its `SyncLedger`: the
/// `sync-report.v1` payload the alerter writes after every extraction run and daily.
public struct SyncRunReport: Sendable {
    public var ledger: SyncLedger
    public var runId: UUID
    /// The report's stage name (`fleet`: every stage at once).
    public var stage: String
    /// The extraction source the ledger was limited to, nil for every source.
    public var source: String?
    public var startedAt: Timestamp
    public var finishedAt: Timestamp
    public var period: SyncReport.Period?
    /// Salesforce API calls, as Salesforce counted them (nil when unknown).
    public var apiCalls: Int?
    public var stageTimings: [SyncReport.StageTiming]
    public var reconciliation: SyncReport.Reconciliation?

    /// Groups kept in the payload, the largest first (the schema's bound).
    public static let maximumGroups = 10_000

    public init(ledger: SyncLedger, runId: UUID = UUID(), stage: String = "fleet", source: String? = nil, startedAt: Timestamp,
                finishedAt: Timestamp, period: SyncReport.Period? = nil, apiCalls: Int? = nil, stageTimings: [SyncReport.StageTiming] = [],
                reconciliation: SyncReport.Reconciliation? = nil) {
        self.ledger = ledger
        self.runId = runId
        self.stage = stage
        self.source = source
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.period = period
        self.apiCalls = apiCalls
        self.stageTimings = stageTimings
        self.reconciliation = reconciliation
    }

    /// The report.
    public var payload: SyncReport {
        let flows = ledger.rows.map(Self.flow)
        let groups = ledger.deadLetterGroups.prefix(Self.maximumGroups).map(Self.group)
        let sum = { (count: (SyncReport.Flow) -> Int) in flows.reduce(0) { $0 + count($1) } }
        let created = sum(\.created)
        let updated = sum(\.updated)
        let counts = SyncReport.Counts(
            read: ledger.recordsExtracted, rejected: ledger.refusedRows.values.reduce(0, +), loaded: created + updated,
            created: created, updated: updated, suppressed: sum(\.suppressed),
            deadLettered: ledger.deadLetterGroups.reduce(0) { $0 + $1.count })
        return SyncReport(runId: runId, stage: stage, source: source, startedAt: startedAt, finishedAt: finishedAt,
                          status: Self.status(of: ledger), counts: counts, flows: flows, deadLetterGroups: groups,
                          reconciliation: reconciliation, apiCalls: apiCalls, stageTimings: stageTimings, period: period,
                          billingCycles: Self.billingCycles(of: ledger))
    }

    /// Per billing cycle and record type, where the records went into the CRM (their Salesforce
    /// direction: a reading's upload back to billing is counted in the flows).
    public static func billingCycles(of ledger: SyncLedger) -> [SyncReport.BillingCycle] {
        ledger.billingCycles.map { counts in
            var cycle = SyncReport.BillingCycle(cycle: counts.cycle, type: counts.type)
            cycle.extracted = counts.extracted
            cycle.loaded = counts.loaded
            cycle.suppressed = counts.suppressed
            cycle.deadLettered = counts.deadLettered
            cycle.open = counts.open
            return cycle
        }
    }

    /// Failed when a record is unaccounted for; partial when records were dead-lettered or are
    /// still retrying or pending; succeeded otherwise.
    public static func status(of ledger: SyncLedger) -> SyncReport.Status {
        if ledger.rows.contains(where: { $0.unaccounted > 0 }) { return .failed }
        if !ledger.deadLetterGroups.isEmpty || ledger.rows.contains(where: { $0.deadLettered + $0.retrying + $0.pending > 0 }) {
            return .partial
        }
        return .succeeded
    }

    public static func flow(_ row: SyncLedger.Row) -> SyncReport.Flow {
        let direction: SyncReport.Flow.Direction = switch row.flow.direction {
        case .toSalesforce: .toSalesforce
        case .toBilling: .toBilling
        case .rollup: .rollup
        }
        return SyncReport.Flow(object: label(row.flow.object), from: label(row.flow.from), direction: direction, extracted: row.extracted,
                               transformed: row.transformed, suppressed: row.unchanged, created: row.created, updated: row.updated,
                               deadLettered: row.deadLettered, retrying: row.retrying, pending: row.pending, unaccounted: row.unaccounted)
    }

    public static func group(_ group: SyncLedger.DeadLetterGroup) -> SyncReport.DeadLetterGroup {
        let field = group.field.flatMap { $0.isEmpty ? nil : clipped($0, to: 255) }
        return SyncReport.DeadLetterGroup(
            stage: group.stage.rawValue, code: clipped(group.code.isEmpty ? "unknown" : group.code, to: 255), field: field,
            reason: clipped(group.reason, to: 4000), count: max(1, group.count), examples: group.examples.prefix(3).map { clipped($0, to: 255) },
            command: RedriveCommand.for(stage: group.stage.rawValue, code: group.code, field: group.field))
    }

    static func label(_ text: String) -> String { text.isEmpty ? "?" : clipped(text, to: 80) }

    /// At most `length` characters, the last an ellipsis when cut.
    static func clipped(_ text: String, to length: Int) -> String {
        text.count <= length ? text : String(text.prefix(length - 1)) + "…"
    }
}

extension SyncReport {
    /// The report as a message (`sync-report.v1` in an envelope). Its id derives from the run
    /// id, so the same report written twice is the same message.
    public func message(writtenBy worker: String = "alerter") -> MessageEnvelope<SyncReport> {
        MessageEnvelope(id: UUID(derivedFrom: "sync-report|\(runId.uuidString)|\(stage)"), source: MessageSource(system: .billsync, name: worker),
                        businessKey: stage, correlationId: runId, occurredAt: finishedAt, extractedAt: finishedAt, payload: self)
    }
}
