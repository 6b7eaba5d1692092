import BillsyncContracts
import BillsyncKafka
import BillsyncOperations
import BillsyncTopics
import Foundation
import Logging

/// The discrepancy rule: once a finished extraction run's records had time to flow, every one
/// of them must be loaded, unchanged (suppressed), dead-lettered, or still in a retry topic
/// (named as such). Read from the fleet's topics and committed offsets, as `billsync report`
/// does, by one reader and `FleetLedger` that follow the fleet for the alerter's life: each
/// message is read once, and a run's ledger is answered from counters and the records in flight.
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

    /// Opens the fleet's reader and ledger (every source), runs `body` with them, and closes
    /// them: `body` refreshes the reader at each accounting pass.
    public func following<Result: Sendable>(_ body: (inout FleetTopicReader) async throws -> Result) async throws -> Result {
        let transformed = Set(TopicCatalog.transformerEntities.map(SyncLedger.recordType))
        let uploaded = Set(TopicCatalog.billingUploadEntities.map(SyncLedger.recordType))
        let ledger = FleetLedger(FleetLedger.Configuration(objects: objects, transformedTypes: stages.contains(.transformer) ? transformed : [],
                                                           billingTypes: stages.contains(.loaderBilling) ? uploaded : []))
        return try await FleetTopicReader.reading(connection: connection, catalog: catalog, stages: stages, ledger: ledger, logger: logger, body)
    }

    /// The ledger of one run: the records its source published while it ran (the daily report:
    /// every source's, over its day), by whole seconds with a second's slack either side.
    public static func ledger(of run: AlerterObservations.RunCheck, in fleet: FleetLedger) -> SyncLedger {
        let everySource = run.source == AlerterObservations.RunCheck.everySource
        let start = ((run.startedAt ?? run.finishedAt).timeIntervalSinceReferenceDate.rounded(.down) - 1)
        let end = (run.finishedAt.timeIntervalSinceReferenceDate.rounded(.up) + 1)
        return fleet.ledger(sources: everySource ? nil : [run.source],
                            extractedWithin: Date(timeIntervalSinceReferenceDate: start)...Date(timeIntervalSinceReferenceDate: end))
    }

    /// How long each stage took over the run's records: from the run's start to the last output
    /// the stage wrote for them (an upsert, a load result), as the broker stamped it.
    public static func stageTimings(_ ledger: SyncLedger, run: AlerterObservations.RunCheck) -> [SyncReport.StageTiming] {
        let start = run.startedAt ?? run.finishedAt
        var last = Dictionary(uniqueKeysWithValues: ledger.lastWritten.map { ($0.key.rawValue, $0.value) })
        last[Stage.extractor.rawValue] = max(last[Stage.extractor.rawValue] ?? run.finishedAt, run.finishedAt)
        return last.sorted { $0.value < $1.value }.map { SyncReport.StageTiming(stage: $0.key, seconds: $0.value.timeIntervalSince(start)) }
    }

    /// What the next check compares with to tell a stage that moves from one that is stuck: per
    /// stage, the sum of its committed offsets now (kept with the run as its `pending`).
    public static func progress(_ ledger: SyncLedger) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: ledger.committed.map { (progressKey($0.key), Int($0.value)) })
    }

    static func progressKey(_ stage: Stage) -> String { "committed/\(stage)" }

    /// The stages that committed nothing since the run's previous check, and nothing for
    /// `stalledAfter` (none at its first check: there is nothing to compare with yet). A loader
    /// working through a backlog commits once per chunk, which can take longer than the time
    /// between checks: only a stage still for `stalledAfter` holds its records.
    static func stalledStages(_ ledger: SyncLedger, run: AlerterObservations.RunCheck, now: Date, stalledAfter: Duration) -> Set<Stage> {
        guard let before = run.pending else { return [] }
        return Set(ledger.committed.keys.filter { stage in
            let key = progressKey(stage)
            guard before[key] == ledger.committed[stage].map({ Int($0) }) else { return false }
            let since = run.pendingSince?[key] ?? .distantPast
            return now.timeIntervalSince(since) >= stalledAfter.timeInterval
        })
    }

    static func flowKey(_ row: SyncLedger.Row, run: AlerterObservations.RunCheck) -> String {
        "discrepancy/\(run.source)/\(row.flow.object)/\(row.flow.direction.rawValue)"
    }

    /// One condition per flow that is really missing records, naming the numbers. Records handled
    /// without an outcome anywhere are told at once. Records not yet handled are late, not
    /// missing, while the stage holding them still commits (a loader working through a backlog):
    /// they are told only once that stage committed nothing since the run's previous check and
    /// for `stalledAfter` (the lag rules' stalled consumer; a stage that is down is the lag and
    /// worker rules' to tell as well). Roll-up totals are not extracted records: only roll-up
    /// upserts without an outcome are told for them.
    public static func discrepancies(_ ledger: SyncLedger, run: AlerterObservations.RunCheck, now: Date,
                                     stalledAfter: Duration = .zero) -> [AlertCondition] {
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
        let stalled = stalledStages(ledger, run: run, now: now, stalledAfter: stalledAfter)
        return conditions + ledger.rows.compactMap { row in
            row.flow.direction == .rollup ? rollupDiscrepancy(row, run: run, now: now) : flowDiscrepancy(row, stalled: stalled, run: run, now: now)
        }
    }

    static func flowDiscrepancy(_ row: SyncLedger.Row, stalled: Set<Stage>, run: AlerterObservations.RunCheck, now: Date) -> AlertCondition? {
        let stuckAt = row.pendingAt.keys.filter(stalled.contains).sorted()
        guard row.unaccounted > 0 || !stuckAt.isEmpty else { return nil }
        let loaded = row.created + row.updated
        let accounted = loaded + row.unchanged + row.deadLettered + row.retrying
        let retry = row.retrying > 0 ? " (+ \(row.retrying) still in retry)" : ""
        var missing: [String] = []
        if row.unaccounted > 0 { missing.append("\(row.unaccounted) unaccounted for (handled, but no outcome anywhere)") }
        if row.pending > 0 {
            let stages = stuckAt.map(\.rawValue).joined(separator: " and ")
            missing.append(stuckAt.isEmpty ? "\(row.pending) not yet handled by their stage, which is still committing"
                : "\(row.pending) not yet handled by their stage (the \(stages) committed nothing since the previous check)")
        }
        let flow = "\(row.flow.object) \(row.flow.direction.rawValue)"
        return AlertCondition(
            key: flowKey(row, run: run),
            severity: row.unaccounted > 0 ? .critical : .warning, kind: .discrepancy,
            title: "\(run.source) run: \(flow): \(row.extracted) extracted ≠ \(loaded) loaded + \(row.unchanged) suppressed + \(row.deadLettered) dead-lettered\(retry)",
            summary: "The run finished at \(RuleEvaluation.time(run.finishedAt)); \(accounted) of \(row.extracted) records are accounted for, \(missing.joined(separator: " and ")). `billsync report --source \(run.source)` lists them by file and line.",
            stage: nil, count: row.unaccounted + row.pending, firstSeenAt: run.finishedAt, lastSeenAt: now,
            labels: ["object": row.flow.object, "source": run.source],
            details: ["extracted": "\(row.extracted)", "loaded": "\(loaded)", "suppressed": "\(row.unchanged)",
                      "dead-lettered": "\(row.deadLettered)", "in retry": "\(row.retrying)", "pending": "\(row.pending)",
                      "unaccounted": "\(row.unaccounted)", "run": run.runId])
    }

    static func rollupDiscrepancy(_ row: SyncLedger.Row, run: AlerterObservations.RunCheck, now: Date) -> AlertCondition? {
        guard row.unaccounted > 0 else { return nil }
        let total = row.created + row.updated + row.unchanged + row.deadLettered + row.retrying + row.pending + row.unaccounted
        let upserts = row.unaccounted == 1 ? "roll-up upsert" : "roll-up upserts"
        return AlertCondition(
            key: flowKey(row, run: run), severity: .critical, kind: .discrepancy,
            title: "\(run.source) run: \(row.flow.object) roll-up: \(row.unaccounted) \(upserts) handled by the loader without an outcome",
            summary: "The run finished at \(RuleEvaluation.time(run.finishedAt)); of the \(total) roll-up totals made from its records, the loader committed past \(row.unaccounted) without a result or a dead letter. `billsync report --source \(run.source)` lists them.",
            stage: nil, count: row.unaccounted, firstSeenAt: run.finishedAt, lastSeenAt: now,
            labels: ["object": row.flow.object, "source": run.source],
            details: ["roll-up upserts": "\(total)", "loaded": "\(row.created + row.updated)", "dead-lettered": "\(row.deadLettered)",
                      "in retry": "\(row.retrying)", "pending": "\(row.pending)", "unaccounted": "\(row.unaccounted)", "run": run.runId])
    }
}
