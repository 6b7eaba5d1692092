@testable import BillsyncAlerter
import BillsyncContracts
import BillsyncKafka
@testable import BillsyncOperations
import BillsyncTopics
import Foundation
import Testing

/// What a run's accounting reads from the fleet's facts besides the ledger's counts.
@Suite("A run's accounting names its stages' timings and its records only")
struct RunAccountingTests {
    let start = Date(timeIntervalSince1970: 1_795_165_200)
    func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

    func facts() -> FleetFacts {
        var facts = FleetFacts()
        func raw(_ id: String, extractedAt: Date) {
            facts.raw.append(FleetFacts.RawRecord(id: id, type: "billing-account", businessKey: id, sourceName: "nightly",
                                                  position: .init(topic: "raw", partition: 0, offset: Int64(facts.raw.count)),
                                                  extractedAt: extractedAt))
        }
        raw("r1", extractedAt: at(1))
        raw("r-earlier-run", extractedAt: at(-86_400))
        facts.upserts.append(FleetFacts.Upsert(id: "u1", causationId: "r1", object: "Account", externalId: "r1", writtenBy: .transformer,
                                               position: .init(topic: "upserts", partition: 0, offset: 0), writtenAt: at(3)))
        facts.results.append(FleetFacts.LoadResult(causationId: "u1", sink: "salesforce", object: "Account", outcome: "created", writtenAt: at(7)))
        facts.results.append(FleetFacts.LoadResult(causationId: "u-earlier", sink: "salesforce", object: "Account", outcome: "created",
                                                   writtenAt: at(90_000)))
        return facts
    }

    var run: AlerterObservations.RunCheck {
        AlerterObservations.RunCheck(runId: UUID().uuidString, source: "nightly", startedAt: start, finishedAt: at(2), dueAt: at(600),
                                     read: 1, published: 1, rejected: 0)
    }

    @Test("a run's ledger holds the records extracted while it ran, not an earlier run's of the same source")
    func oneRunOnly() {
        let ledger = SyncLedger(facts: facts(), sources: ["nightly"], objects: ["billing-account": "Account"],
                                transformedTypes: ["billing-account"], billingTypes: [], extractedWithin: start...at(2))
        #expect(ledger.recordsExtracted == 1)
        #expect(RunAccounting.discrepancies(ledger, run: run, now: at(600)).isEmpty)
    }

    @Test("each stage's timing runs from the run's start to the last output it wrote for the run's records")
    func timings() {
        let facts = facts()
        let ledger = SyncLedger(facts: facts, sources: ["nightly"], objects: ["billing-account": "Account"],
                                transformedTypes: ["billing-account"], billingTypes: [], extractedWithin: start...at(2))
        let timings = RunAccounting.stageTimings(ledger, facts: facts, run: run)
        #expect(timings == [.init(stage: "extractor", seconds: 2), .init(stage: "transformer", seconds: 3), .init(stage: "loader", seconds: 7)])
    }

    @Test("records not yet handled are told only when fewer did not get handled since the run's previous check")
    func pendingIsToldWhenItStopsMoving() {
        // Three raw records; the transformer's group committed past the first only, which is loaded.
        var facts = FleetFacts()
        for index in 0..<3 {
            facts.raw.append(FleetFacts.RawRecord(id: "r\(index)", type: "billing-account", businessKey: "r\(index)", sourceName: "nightly",
                                                  position: .init(topic: "raw", partition: 0, offset: Int64(index)), extractedAt: at(1)))
        }
        facts.committed[.transformer] = [KafkaTopicPartition(topic: "raw", partition: 0): 1]
        facts.upserts.append(FleetFacts.Upsert(id: "u0", causationId: "r0", object: "Account", externalId: "r0", writtenBy: .transformer,
                                               position: .init(topic: "upserts", partition: 0, offset: 0), writtenAt: at(3)))
        facts.results.append(FleetFacts.LoadResult(causationId: "u0", sink: "salesforce", object: "Account", outcome: "created", writtenAt: at(7)))
        let ledger = SyncLedger(facts: facts, sources: ["nightly"], objects: ["billing-account": "Account"],
                                transformedTypes: ["billing-account"], billingTypes: [], extractedWithin: start...at(2))
        let key = "discrepancy/nightly/Account/→ Salesforce"
        #expect(RunAccounting.pending(ledger, run: run).values.sorted() == [2])

        var first = run
        first.read = 3
        first.published = 3
        #expect(RunAccounting.discrepancies(ledger, run: first, now: at(600)).isEmpty, "the first check has nothing to compare with")
        first.pending = [key: 3]
        #expect(RunAccounting.discrepancies(ledger, run: first, now: at(1_200)).isEmpty, "3 → 2: the stage is working through them")
        first.pending = RunAccounting.pending(ledger, run: run)
        let stalled = RunAccounting.discrepancies(ledger, run: first, now: at(1_800))
        #expect(stalled.map(\.key) == [key], "2 → 2: stuck")
        #expect(stalled.first?.title == "nightly run: Account → Salesforce: 3 extracted ≠ 1 loaded + 0 suppressed + 0 dead-lettered")
        #expect(stalled.first?.summary.contains("2 not yet handled by their stage") == true)
    }
}
