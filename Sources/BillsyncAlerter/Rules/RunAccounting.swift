import BillsyncContracts
import BillsyncKafka
import BillsyncOperations
import BillsyncTopics
import Foundation
import Logging

/// The discrepancy rule: once a finished extraction run's records had time to flow, every one
/// of them must be loaded, unchanged (suppressed), dead-lettered, or still in a retry topic
/// (named as such). Read from the fleet's topics and committed offsets, as `billsync report` does.
public struct RunAccounting: Sendable {
    public let connection: KafkaConnection
    public let catalog: TopicCatalog
    /// The stages that run (their committed offsets say what they handled).
    public let stages: [Stage]
    /// Record type → CRM object, from the transformer's mapping.
    public let objects: [String: String]
    public let logger: Logger

    public init(connection: KafkaConnection, catalog: TopicCatalog, stages: [Stage], objects: [String: String], logger: Logger) {
        self.connection = connection
        self.catalog = catalog
        self.stages = stages
        self.objects = objects
        self.logger = logger
    }

    /// The ledger of one run: the records its source published while it ran (the daily report:
    /// every source's, over its day), read now.
    public func ledger(of run: AlerterObservations.RunCheck) async throws -> (ledger: SyncLedger, facts: FleetFacts) {
        let facts = try await FleetTopicReader.reading(connection: connection, catalog: catalog, stages: stages, logger: logger) { reader in
            try await reader.refresh()
            return reader.facts
        }
        let transformed = Set(TopicCatalog.transformerEntities.map(SyncLedger.recordType))
        let uploaded = Set(TopicCatalog.billingUploadEntities.map(SyncLedger.recordType))
        let everySource = run.source == AlerterObservations.RunCheck.everySource
        // Timestamps are kept to the millisecond: a second's slack either side.
        let period = (run.startedAt ?? run.finishedAt).addingTimeInterval(-1)...run.finishedAt.addingTimeInterval(1)
        let ledger = SyncLedger(facts: facts, sources: everySource ? nil : [run.source], objects: objects,
                                transformedTypes: stages.contains(.transformer) ? transformed : [],
                                billingTypes: stages.contains(.loaderBilling) ? uploaded : [], extractedWithin: period)
        return (ledger, facts)
    }

    /// How long each stage took over the run's records: from the run's start to the last output
    /// the stage wrote for them (an upsert, a load result), as the broker stamped it.
    public static func stageTimings(_ ledger: SyncLedger, facts: FleetFacts, run: AlerterObservations.RunCheck) -> [SyncReport.StageTiming] {
        let start = run.startedAt ?? run.finishedAt
        var last: [String: Date] = [:]
        func saw(_ stage: String, _ date: Date?) {
            guard let date else { return }
            last[stage] = max(last[stage] ?? date, date)
        }
        saw(Stage.extractor.rawValue, run.finishedAt)
        for upsert in ledger.upserts { saw((upsert.writtenBy ?? .transformer).rawValue, upsert.writtenAt) }
        let causes = Set(ledger.records.map(\.id)).union(ledger.upserts.map(\.id))
        for result in facts.results where causes.contains(result.causationId) {
            let stage: Stage = switch result.sink {
            case CRMLoadResult.Sink.billing.rawValue: .loaderBilling
            case CRMLoadResult.Sink.postgres.rawValue: .loaderPostgres
            default: .loader
            }
            saw(stage.rawValue, result.writtenAt)
        }
        return last.sorted { $0.value < $1.value }.map { SyncReport.StageTiming(stage: $0.key, seconds: $0.value.timeIntervalSince(start)) }
    }

    /// The records each flow's stage has not handled yet, by the flow's discrepancy key.
    public static func pending(_ ledger: SyncLedger, run: AlerterObservations.RunCheck) -> [String: Int] {
        var pending: [String: Int] = [:]
        for row in ledger.rows where row.pending > 0 { pending[flowKey(row, run: run)] = row.pending }
        return pending
    }

    static func flowKey(_ row: SyncLedger.Row, run: AlerterObservations.RunCheck) -> String {
        "discrepancy/\(run.source)/\(row.flow.object)/\(row.flow.direction.rawValue)"
    }

    /// One condition per flow whose counts do not add up, naming the numbers. Records merely not
    /// handled yet are told only once their flow stopped moving: when fewer wait than at the
    /// run's previous check, the stage is working through them (a large run outlasts the settle
    /// time), and a stage that is down is the lag and worker rules' to tell.
    public static func discrepancies(_ ledger: SyncLedger, run: AlerterObservations.RunCheck, now: Date) -> [AlertCondition] {
        var conditions: [AlertCondition] = []
        // The records on the raw topics must be the ones the extractor says it published.
        if ledger.recordsExtracted != run.published {
            conditions.append(AlertCondition(
                key: "discrepancy/\(run.source)/published", severity: .critical, kind: .discrepancy,
                title: "\(run.source) run: the extractor published \(run.published) records, the raw topics hold \(ledger.recordsExtracted) of them",
                summary: "The run finished at \(RuleEvaluation.time(run.finishedAt)) saying it read \(run.read) rows and published \(run.published) records; \(ledger.recordsExtracted) are on the raw topics with its source and time. Records were lost before the transformer, or the retention removed them.",
                stage: nil, count: max(1, abs(run.published - ledger.recordsExtracted)), firstSeenAt: run.finishedAt, lastSeenAt: now,
                labels: ["source": run.source], details: ["published": "\(run.published)", "on the raw topics": "\(ledger.recordsExtracted)", "run": run.runId]))
        }
        return conditions + ledger.rows.compactMap { row in
            guard row.unaccounted > 0 || row.pending > 0 else { return nil }
            if row.unaccounted == 0 {
                let before = run.pending?[flowKey(row, run: run)]
                guard let before, row.pending >= before else { return nil }
            }
            let loaded = row.created + row.updated
            let accounted = loaded + row.unchanged + row.deadLettered + row.retrying
            let retry = row.retrying > 0 ? " (+ \(row.retrying) still in retry)" : ""
            var missing: [String] = []
            if row.unaccounted > 0 { missing.append("\(row.unaccounted) unaccounted for (handled, but no outcome anywhere)") }
            if row.pending > 0 { missing.append("\(row.pending) not yet handled by their stage") }
            let flow = "\(row.flow.object) \(row.flow.direction.rawValue)"
            return AlertCondition(
                key: flowKey(row, run: run),
                severity: row.unaccounted > 0 ? .critical : .warning, kind: .discrepancy,
                title: "\(run.source) run: \(flow): \(row.extracted) extracted ≠ \(loaded) loaded + \(row.unchanged) suppressed + \(row.deadLettered) dead-lettered\(retry)",
                summary: "The run finished at \(RuleEvaluation.time(run.finishedAt)); \(accounted) of \(row.extracted) records are accounted for, \(missing.joined(separator: " and ")). `billsync report --source \(run.source)` lists them by file and line.",
                stage: nil, count: row.extracted - accounted, firstSeenAt: run.finishedAt, lastSeenAt: now,
                labels: ["object": row.flow.object, "source": run.source],
                details: ["extracted": "\(row.extracted)", "loaded": "\(loaded)", "suppressed": "\(row.unchanged)",
                          "dead-lettered": "\(row.deadLettered)", "in retry": "\(row.retrying)", "pending": "\(row.pending)",
                          "unaccounted": "\(row.unaccounted)", "run": run.runId])
        }
    }
}
