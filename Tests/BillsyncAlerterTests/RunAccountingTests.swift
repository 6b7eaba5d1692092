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
        let timings = RunAccounting.stageTimings(ledger, run: run)
        #expect(timings == [.init(stage: "extractor", seconds: 2), .init(stage: "transformer", seconds: 3), .init(stage: "loader", seconds: 7)])
    }

    func raw(_ facts: inout FleetFacts, count: Int, type: String = "billing-account") {
        for index in 0..<count {
            facts.raw.append(FleetFacts.RawRecord(id: "r\(index)", type: type, businessKey: "r\(index)", sourceName: "nightly",
                                                  position: .init(topic: "raw", partition: 0, offset: Int64(index)), extractedAt: at(1)))
        }
    }

    func upsert(_ facts: inout FleetFacts, _ id: String, from cause: String, by stage: Stage = .transformer, object: String = "Account") {
        facts.upserts.append(FleetFacts.Upsert(id: id, causationId: cause, object: object, externalId: cause, writtenBy: stage,
                                               position: .init(topic: "upserts", partition: 0, offset: Int64(facts.upserts.count)), writtenAt: at(3)))
    }

    func runLedger(_ facts: FleetFacts) -> SyncLedger {
        SyncLedger(facts: facts, sources: ["nightly"], objects: ["billing-account": "Account"], transformedTypes: ["billing-account"],
                   billingTypes: [], extractedWithin: start...at(2))
    }

    @Test("records not yet handled are told only once the stage holding them committed nothing since the run's previous check")
    func pendingIsToldWhenItStopsMoving() {
        // Three raw records; the transformer's group committed past the first only, which is loaded.
        var facts = FleetFacts()
        raw(&facts, count: 3)
        facts.committed[.transformer] = [KafkaTopicPartition(topic: "raw", partition: 0): 1]
        upsert(&facts, "u0", from: "r0")
        facts.results.append(FleetFacts.LoadResult(causationId: "u0", sink: "salesforce", object: "Account", outcome: "created", writtenAt: at(7)))
        let ledger = runLedger(facts)
        #expect(RunAccounting.progress(ledger) == ["committed/transformer": 1])

        var first = run
        first.read = 3
        first.published = 3
        #expect(RunAccounting.discrepancies(ledger, run: first, now: at(600)).isEmpty, "the first check has nothing to compare with")
        first.pending = ["committed/transformer": 0]
        #expect(RunAccounting.discrepancies(ledger, run: first, now: at(1_200)).isEmpty, "0 → 1: the transformer is working through them")
        first.pending = RunAccounting.progress(ledger)
        let stalled = RunAccounting.discrepancies(ledger, run: first, now: at(1_800))
        #expect(stalled.map(\.key) == ["discrepancy/nightly/Account/→ Salesforce"], "1 → 1: stuck")
        #expect(stalled.first?.title == "nightly run: Account → Salesforce: 3 extracted ≠ 1 loaded + 0 suppressed + 0 dead-lettered")
        #expect(stalled.first?.summary.contains("2 not yet handled by their stage (the transformer committed nothing since the previous check)") == true)
        #expect(stalled.first?.count == 2)
    }

    @Test("records queued behind a loader backlog are late, not missing, while the loader still commits; told once it stops")
    func backlogThatMovesIsNotADiscrepancy() {
        // Ten Product2 records transformed; the loader has loaded three and seven upserts wait behind its backlog.
        var facts = FleetFacts()
        raw(&facts, count: 10)
        facts.committed[.transformer] = [KafkaTopicPartition(topic: "raw", partition: 0): 10]
        for index in 0..<10 { upsert(&facts, "u\(index)", from: "r\(index)", object: "Product2") }
        for index in 0..<3 {
            facts.results.append(FleetFacts.LoadResult(causationId: "u\(index)", sink: "salesforce", object: "Product2", outcome: "created"))
        }
        facts.committed[.loader] = [KafkaTopicPartition(topic: "upserts", partition: 0): 3]
        let ledger = runLedger(facts)
        var check = run
        check.read = 10
        check.published = 10
        check.pending = ["committed/transformer": 10, "committed/loader": 1]
        #expect(RunAccounting.discrepancies(ledger, run: check, now: at(1_200)).isEmpty, "the loader committed since: 7 are late, not missing")

        check.pending = RunAccounting.progress(ledger)
        let stuck = RunAccounting.discrepancies(ledger, run: check, now: at(1_800))
        #expect(stuck.map(\.title) == ["nightly run: Product2 → Salesforce: 10 extracted ≠ 3 loaded + 0 suppressed + 0 dead-lettered"])
        #expect(stuck.first?.count == 7)
        #expect(stuck.first?.summary.contains("the loader committed nothing since the previous check") == true)
    }

    @Test("a stage that committed nothing since the previous check is told only once it has been still for lag.stalledAfter (a loader commits once per chunk)")
    func stillForLessThanStalledAfterIsNotADiscrepancy() {
        var facts = FleetFacts()
        raw(&facts, count: 10)
        facts.committed[.transformer] = [KafkaTopicPartition(topic: "raw", partition: 0): 10]
        for index in 0..<10 { upsert(&facts, "u\(index)", from: "r\(index)", object: "Product2") }
        facts.committed[.loader] = [KafkaTopicPartition(topic: "upserts", partition: 0): 0]
        let ledger = runLedger(facts)
        var check = run
        check.read = 10
        check.published = 10
        check.pending = RunAccounting.progress(ledger)
        check.pendingSince = Dictionary(uniqueKeysWithValues: check.pending!.keys.map { ($0, at(1_000)) })
        #expect(RunAccounting.discrepancies(ledger, run: check, now: at(1_300), stalledAfter: .seconds(600)).isEmpty,
                "still for five minutes: the loader may be in the middle of a chunk")
        let stuck = RunAccounting.discrepancies(ledger, run: check, now: at(1_600), stalledAfter: .seconds(600))
        #expect(stuck.map(\.count) == [10])
    }

    @Test("roll-up totals are never compared with extraction: only roll-up upserts handled without an outcome are told")
    func rollupsAreNotComparedWithExtraction() {
        var facts = FleetFacts()
        raw(&facts, count: 1)
        facts.committed[.transformer] = [KafkaTopicPartition(topic: "raw", partition: 0): 1]
        upsert(&facts, "u0", from: "r0")
        for index in 0..<3 { upsert(&facts, "t\(index)", from: "r0", by: .rollup) }
        for id in ["u0", "t0", "t1"] {
            facts.results.append(FleetFacts.LoadResult(causationId: id, sink: "salesforce", object: "Account", outcome: "updated"))
        }
        var check = run
        check.pending = ["committed/transformer": 0, "committed/loader": 0]

        // The loader has not reached the third total: nothing is missing, and 1 extracted record against 3 totals is no discrepancy.
        facts.committed[.loader] = [KafkaTopicPartition(topic: "upserts", partition: 0): 3]
        #expect(RunAccounting.discrepancies(runLedger(facts), run: check, now: at(600)).isEmpty)

        // The loader committed past it without a result: that total is told, alone.
        facts.committed[.loader] = [KafkaTopicPartition(topic: "upserts", partition: 0): 4]
        let told = RunAccounting.discrepancies(runLedger(facts), run: check, now: at(1_200))
        #expect(told.map(\.key) == ["discrepancy/nightly/Account/roll-up → Salesforce"])
        #expect(told.first?.title == "nightly run: Account roll-up: 1 roll-up upsert handled by the loader without an outcome")
        #expect(told.first?.count == 1)
    }
}
