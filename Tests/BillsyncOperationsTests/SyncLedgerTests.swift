import BillsyncKafka
@testable import BillsyncOperations
import BillsyncTopics
import Testing

/// A small fleet's topics, written by hand: raw records, upserts, results, dead letters, retry
/// copies and committed offsets, as the reader would find them.
private struct FleetScript {
    var facts = FleetFacts()
    var offsets: [String: Int64] = [:]

    mutating func position(_ topic: String) -> FleetFacts.Position {
        let offset = offsets[topic, default: 0]
        offsets[topic] = offset + 1
        return FleetFacts.Position(topic: topic, partition: 0, offset: offset)
    }

    @discardableResult
    mutating func raw(_ id: String, type: String = "billing-account", key: String, file: String? = "export.csv", line: Int? = nil,
                      source: String = "run-1") -> FleetFacts.RawRecord {
        let record = FleetFacts.RawRecord(id: id, type: type, businessKey: key, sourceName: source, position: position("raw.\(type)"),
                                          file: file, line: line)
        facts.raw.append(record)
        return record
    }

    @discardableResult
    mutating func upsert(_ id: String, from cause: String, object: String = "Account", by stage: Stage = .transformer) -> FleetFacts.Upsert {
        let upsert = FleetFacts.Upsert(id: id, causationId: cause, object: object, externalId: id, writtenBy: stage, position: position("upserts"))
        facts.upserts.append(upsert)
        return upsert
    }

    mutating func result(for cause: String, _ outcome: String, sink: String = "salesforce") {
        facts.results.append(FleetFacts.LoadResult(causationId: cause, sink: sink, object: "Account", outcome: outcome))
    }

    mutating func deadLetter(_ id: String?, stage: Stage, code: String, field: String? = nil, file: String? = nil, line: Int? = nil) {
        facts.deadLetters.append(FleetFacts.DeadLetter(stage: stage, originalId: id, code: code, reason: "\(code) on \(field ?? "-")",
                                                       field: field, example: id ?? "\(file ?? "") line \(line ?? 0)", source: "run-1",
                                                       file: file, line: line, failedAt: nil))
    }

    /// The stage committed everything written so far to this topic.
    mutating func caughtUp(_ stage: Stage, on topic: String) {
        facts.committed[stage, default: [:]][KafkaTopicPartition(topic: topic, partition: 0)] = offsets[topic, default: 0]
    }

    func ledger(sources: Set<String>? = ["run-1"]) -> SyncLedger {
        SyncLedger(facts: facts, sources: sources, objects: ["billing-account": "Account", "billing-meter-reading": "Meter_Reading__c"])
    }
}

@Suite("The sync report accounts for every record of a run and names the ones it cannot")
struct SyncLedgerTests {
    @Test("a record loaded, one left unchanged and one dead-lettered close the account")
    func closedRun() {
        var fleet = FleetScript()
        fleet.raw("r1", key: "001", line: 2)
        fleet.raw("r2", key: "001", line: 3)
        fleet.raw("r3", key: "002", line: 4)
        fleet.upsert("u1", from: "r1")
        fleet.deadLetter("r3", stage: "transformer", code: "rule.email", field: "/payload/email")
        fleet.caughtUp("transformer", on: "raw.billing-account")
        fleet.caughtUp("loader", on: "upserts")
        fleet.result(for: "u1", "created")

        let ledger = fleet.ledger()
        let row = ledger.rows.first { $0.flow.object == "Account" }
        #expect(row?.extracted == 3)
        #expect(row?.transformed == 1)
        #expect(row?.created == 1)
        #expect(row?.unchanged == 1)
        #expect(row?.deadLettered == 1)
        #expect(ledger.isClosed)
        #expect(ledger.deadLetterGroups.map(\.code) == ["rule.email"])
    }

    @Test("a record the loader passed without a result is unaccounted for, and named with its file and line")
    func lostRecordIsNamed() {
        var fleet = FleetScript()
        fleet.raw("r1", key: "001", line: 7)
        fleet.upsert("u1", from: "r1")
        fleet.caughtUp("transformer", on: "raw.billing-account")
        fleet.caughtUp("loader", on: "upserts")

        let ledger = fleet.ledger()
        #expect(!ledger.isClosed)
        #expect(ledger.open.map(\.description) == ["billing-account 001 (export.csv line 7)"])
        #expect(ledger.open.first?.outcome == .unaccounted(stage: "loader", reason: "handled without a load result"))
    }

    @Test("a record not yet committed by its stage is pending, not lost; an upsert in a retry topic is retrying")
    func lateRecordsAreNotLost() {
        var fleet = FleetScript()
        fleet.raw("r1", key: "001")
        fleet.raw("r2", key: "002")
        // The transformer committed the first record only.
        fleet.facts.committed["transformer"] = [KafkaTopicPartition(topic: "raw.billing-account", partition: 0): 1]
        #expect(fleet.ledger().entries.map(\.outcome) == [.unchanged, .pending(stage: "transformer")])

        fleet.upsert("u2", from: "r2")
        fleet.caughtUp("transformer", on: "raw.billing-account")
        fleet.caughtUp("loader", on: "upserts")
        fleet.facts.retryCopies.append(FleetFacts.RetryCopy(stage: "loader", originalId: "u2", position: fleet.position("loader.retry.1")))
        #expect(fleet.ledger().entries.map(\.outcome) == [.unchanged, .retrying(stage: "loader")])
        #expect(!fleet.ledger().isClosed)
    }

    @Test("a meter reading is accounted twice: into Salesforce and back to billing")
    func readingHasTwoFlows() {
        var fleet = FleetScript()
        fleet.raw("m1", type: "billing-meter-reading", key: "6305000123")
        fleet.upsert("u1", from: "m1", object: "Meter_Reading__c")
        fleet.caughtUp("transformer", on: "raw.billing-meter-reading")
        fleet.caughtUp("loader-billing", on: "raw.billing-meter-reading")
        fleet.caughtUp("loader", on: "upserts")
        fleet.result(for: "u1", "created")
        fleet.deadLetter("m1", stage: "loader-billing", code: "billing.rejected")

        let ledger = fleet.ledger()
        #expect(ledger.recordsExtracted == 1)
        #expect(ledger.rows.map(\.flow.direction) == [.toSalesforce, .toBilling])
        #expect(ledger.rows.map(\.created) == [1, 0])
        #expect(ledger.rows.map(\.deadLettered) == [0, 1])
    }

    @Test("roll-up totals get their own line and do not count as extracted records")
    func rollupsHaveTheirOwnLine() {
        var fleet = FleetScript()
        fleet.raw("r1", key: "003")
        fleet.upsert("u1", from: "r1")
        fleet.upsert("t1", from: "r1", by: "rollup")
        fleet.caughtUp("transformer", on: "raw.billing-account")
        fleet.caughtUp("loader", on: "upserts")
        fleet.result(for: "u1", "created")
        fleet.result(for: "t1", "updated")

        let ledger = fleet.ledger()
        let rollup = ledger.rows.first { $0.flow.direction == .rollup }
        #expect(rollup?.extracted == 0)
        #expect(rollup?.updated == 1)
        #expect(ledger.rows.first { $0.flow.direction == .toSalesforce }?.created == 1)
    }

    @Test("a PostgreSQL replica's result says nothing about Salesforce: the upsert stays pending at the loader")
    func resultsAreReadPerSink() {
        var fleet = FleetScript()
        fleet.raw("r1", key: "001")
        fleet.upsert("u1", from: "r1")
        fleet.caughtUp("transformer", on: "raw.billing-account")
        fleet.result(for: "u1", "created", sink: "postgres")
        #expect(fleet.ledger().entries.map(\.outcome) == [.pending(stage: "loader")])
    }

    @Test("records of a type no running stage reads are counted apart, and do not hold the account open")
    func unroutedTypesAreCountedApart() {
        var fleet = FleetScript()
        fleet.raw("c1", type: "billing-contact", key: "001")
        let ledger = fleet.ledger()
        #expect(ledger.unrouted == ["billing-contact": 1])
        #expect(ledger.entries.isEmpty && ledger.isClosed)
    }

    @Test("records of other runs and rows other sources refused are left out")
    func otherRunsAreLeftOut() {
        var fleet = FleetScript()
        fleet.raw("r1", key: "001", source: "run-0")
        fleet.deadLetter(nil, stage: "extractor", code: "csv.CustomerID", file: "old.csv", line: 3)
        fleet.facts.deadLetters[0].source = "run-0"
        fleet.caughtUp("transformer", on: "raw.billing-account")

        let ledger = fleet.ledger()
        #expect(ledger.recordsExtracted == 0)
        #expect(ledger.refusedRows.isEmpty)
    }

    @Test("each deliberate anomaly is checked against where its row ended")
    func expectationsAreChecked() {
        var fleet = FleetScript()
        fleet.raw("r1", key: "001", line: 2)
        fleet.upsert("u1", from: "r1")
        fleet.raw("r2", key: "001", line: 3)  // the same row again
        fleet.raw("r3", key: "002", line: 4)
        fleet.upsert("u3", from: "r3")
        fleet.caughtUp("transformer", on: "raw.billing-account")
        fleet.caughtUp("loader", on: "upserts")
        fleet.result(for: "u1", "created")
        fleet.result(for: "u3", "created")
        fleet.deadLetter(nil, stage: "extractor", code: "csv.CustomerID", file: "export.csv", line: 5)
        let ledger = fleet.ledger()

        func expect(_ line: Int, _ expected: RecordExpectation.Expected, key: String?) -> String? {
            RecordExpectation(file: "export.csv", line: line, kind: "k", expected: expected, businessKey: key).unmet(in: ledger)
        }
        #expect(expect(2, .deduplicated, key: "001") == nil)
        #expect(expect(5, .rejected, key: nil) == nil)
        #expect(expect(4, .cleaned, key: "002") == nil)
        #expect(expect(4, .rejected, key: "002")?.contains("should have been dead-lettered") == true)
        #expect(expect(4, .deduplicated, key: "002") != nil)
    }
}
