import BillsyncTopics
import Foundation
@testable import BillsyncOperations

/// The sync report's accounting as it was computed before the incremental ledger: every fact
/// indexed and every record's entry rebuilt at once. Kept verbatim as the reference the
/// `FleetLedger` must agree with on the same facts.
enum FullRebuild {
    typealias Outcome = SyncLedger.Outcome
    typealias Flow = SyncLedger.Flow
    typealias Row = SyncLedger.Row
    typealias Entry = SyncLedger.Entry
    typealias DeadLetterGroup = SyncLedger.DeadLetterGroup

    static func ledger(facts: FleetFacts, sources: Set<String>?, objects: [String: String],
                       transformedTypes: Set<String> = Set(TopicCatalog.transformerEntities.map(SyncLedger.recordType)),
                       billingTypes: Set<String> = Set(TopicCatalog.billingUploadEntities.map(SyncLedger.recordType)), sink: String = "salesforce",
                       extractedWithin period: ClosedRange<Date>? = nil) -> SyncLedger {
        var ledger = SyncLedger()
        let raw = facts.raw.filter { record in
            guard sources?.contains(record.sourceName) ?? true else { return false }
            guard let period else { return true }
            return record.extractedAt.map(period.contains) ?? false
        }
        let rawIds = Set(raw.map(\.id))
        ledger.recordsExtracted = rawIds.count
        let upserts = facts.upserts.filter { rawIds.contains($0.causationId) }
        let relevant = rawIds.union(upserts.map(\.id))
        var dead: [Stage: [String: FleetFacts.DeadLetter]] = [:]
        var groups: [String: DeadLetterGroup] = [:]
        for letter in facts.deadLetters {
            let belongs = letter.originalId.map(relevant.contains)
                ?? (letter.stage == Stage.extractor && (sources == nil || letter.source.map { sources!.contains($0) } == true))
            guard belongs else { continue }
            if let id = letter.originalId { dead[letter.stage, default: [:]][id] = letter }
            if letter.originalId == nil, let file = letter.file {
                ledger.refusedRows[file, default: 0] += 1
                ledger.refusedLines.insert("\(file):\(letter.line ?? 0)")
            }
            let groupKey = "\(letter.stage)|\(letter.code)|\(letter.field ?? "")"
            var group = groups[groupKey] ?? DeadLetterGroup(stage: letter.stage, code: letter.code, field: letter.field, reason: letter.reason)
            group.count += 1
            if group.examples.count < 3 { group.examples.append(letter.example) }
            groups[groupKey] = group
        }
        ledger.deadLetterGroups = groups.values.sorted { ($0.count, $1.stage, $1.code) > ($1.count, $0.stage, $0.code) }
        var retries: [Stage: [String: [FleetFacts.Position]]] = [:]
        for copy in facts.retryCopies where relevant.contains(copy.originalId) {
            retries[copy.stage, default: [:]][copy.originalId, default: []].append(copy.position)
        }
        ledger.retried = retries.mapValues(\.count)
        var upsertsByCause: [String: [FleetFacts.Upsert]] = [:]
        for upsert in upserts { upsertsByCause[upsert.causationId, default: []].append(upsert) }
        // Keyed by sink: a PostgreSQL replica's result says nothing about Salesforce.
        var results: [String: [String: FleetFacts.LoadResult]] = [:]
        for result in facts.results where relevant.contains(result.causationId) {
            results[result.sink, default: [:]][result.causationId] = result
        }

        /// The stage's part in a message's fate: dead-lettered, a final outcome the caller found,
        /// retrying, or pending; nil when the stage handled it and nothing came of it.
        func outcome(at stage: Stage, id: String, position: FleetFacts.Position, final: Outcome?) -> Outcome? {
            if dead[stage]?[id] != nil { return .deadLettered(stage: stage) }
            if let final { return final }
            if let copies = retries[stage]?[id] {
                return copies.contains { !facts.handled(by: stage, $0) } ? .retrying(stage: stage) : nil
            }
            return facts.handled(by: stage, position) ? nil : .pending(stage: stage)
        }
        func loaded(_ result: FleetFacts.LoadResult?, stage: Stage) -> Outcome? {
            switch result?.outcome {
            case "created": .created
            case "updated": .updated
            case "failed": .unaccounted(stage: stage, reason: "a failed result without a dead letter")
            default: nil
            }
        }
        func load(_ upsert: FleetFacts.Upsert) -> Outcome {
            outcome(at: Stage.loader, id: upsert.id, position: upsert.position, final: loaded(results[sink]?[upsert.id], stage: Stage.loader))
                ?? .unaccounted(stage: Stage.loader, reason: "handled without a load result")
        }

        var rows: [Flow: Row] = [:]
        func add(_ entry: Entry, transformed: Bool = false) {
            var row = rows[entry.flow] ?? Row(flow: entry.flow)
            if entry.record != nil { row.extracted += 1 }
            if transformed { row.transformed += 1 }
            row.count(entry.outcome)
            rows[entry.flow] = row
            ledger.entries.append(entry)
        }
        for record in raw {
            guard transformedTypes.contains(record.type) || billingTypes.contains(record.type) else {
                ledger.unrouted[record.type, default: 0] += 1
                continue
            }
            let own = upsertsByCause[record.id, default: []].filter { $0.writtenBy == nil || $0.writtenBy == Stage.transformer }
            let object = own.first?.object ?? objects[record.type] ?? record.type
            let entity = SyncLedger.entity(ofRecordType: record.type)
            let final = own.map(load).max { $0.severity < $1.severity }
            let toCRM = outcome(at: Stage.transformer, id: record.id, position: record.position, final: final) ?? .unchanged
            if transformedTypes.contains(record.type) {
                add(Entry(record: record, flow: Flow(object: object, from: entity, direction: .toSalesforce), outcome: toCRM),
                       transformed: !own.isEmpty)
            }
            if billingTypes.contains(record.type) {
                let toBilling = outcome(at: Stage.loaderBilling, id: record.id, position: record.position,
                                        final: loaded(results["billing"]?[record.id], stage: Stage.loaderBilling))
                    ?? .unaccounted(stage: Stage.loaderBilling, reason: "handled without an upload result")
                add(Entry(record: record, flow: Flow(object: "billing upload", from: entity, direction: .toBilling), outcome: toBilling))
            }
        }
        for upsert in upserts where upsert.writtenBy == Stage.rollup {
            add(Entry(upsert: upsert, flow: Flow(object: upsert.object, from: "hierarchy totals", direction: .rollup), outcome: load(upsert)),
                   transformed: true)
        }
        ledger.rows = rows.values.sorted { $0.flow < $1.flow }
        return ledger
    }
}
