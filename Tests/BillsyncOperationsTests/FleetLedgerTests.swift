import BillsyncKafka
@testable import BillsyncOperations
import BillsyncTopics
import Foundation
import Testing

/// The incremental ledger: what reached its end costs counters, what is in flight an entry, and
/// the counts are those of a full rebuild of the same facts.
@Suite("The fleet ledger follows a run message by message and keeps only what is in flight")
struct FleetLedgerTests {
    static let readers: [String: [Stage]] = ["raw.billing-account": [.transformer], "raw.billing-meter-reading": [.transformer, .loaderBilling],
                                             "upserts": [.loader], "loader.retry.1": [.loader]]

    static func configuration(keepsEveryEntry: Bool = false, sources: Set<String>? = nil) -> FleetLedger.Configuration {
        FleetLedger.Configuration(objects: ["billing-account": "Account", "billing-meter-reading": "Meter_Reading__c"],
                                  sources: sources, readers: readers, keepsEveryEntry: keepsEveryEntry)
    }

    static func commit(_ ledger: inout FleetLedger, _ stage: Stage, _ topic: String, next: Int64) {
        ledger.setCommitted([KafkaTopicPartition(topic: topic, partition: 0): next], of: stage)
    }

    @Test("a record that reached its end costs a counter, not an entry: after 100,000 records the open set is empty and the counts exact")
    func finishedRecordsCostCounters() {
        var ledger = FleetLedger(Self.configuration())
        let batches = 100
        let perBatch = 1_000
        var peakSlots = 0
        let extracted = Date(timeIntervalSinceReferenceDate: 800_000_000)
        for batch in 0..<batches {
            for index in 0..<perBatch {
                let offset = Int64(batch * perBatch + index)
                let raw = UUID().uuidString
                let upsert = UUID().uuidString
                ledger.take(FleetFacts.RawRecord(id: raw, type: "billing-account", businessKey: String(format: "%010d", offset), sourceName: "nightly",
                                                 position: .init(topic: "raw.billing-account", partition: 0, offset: offset), file: "accounts.csv",
                                                 line: Int(offset) + 2, extractedAt: extracted))
                ledger.take(FleetFacts.Upsert(id: upsert, causationId: raw, object: "Account", externalId: raw, writtenBy: .transformer,
                                              position: .init(topic: "upserts", partition: 0, offset: offset)))
                ledger.take(FleetFacts.LoadResult(causationId: upsert, sink: "salesforce", object: "Account", outcome: "created"))
            }
            let next = Int64((batch + 1) * perBatch)
            Self.commit(&ledger, .transformer, "raw.billing-account", next: next)
            Self.commit(&ledger, .loader, "upserts", next: next)
            ledger.settle()
            peakSlots = max(peakSlots, ledger.records.count)
        }
        ledger.settle()

        #expect(ledger.openCount == 0)
        #expect(peakSlots <= 2 * perBatch, "slots are reused: at most two refreshes' records are ever open")
        let run = ledger.ledger(sources: ["nightly"])
        #expect(run.recordsExtracted == batches * perBatch)
        #expect(run.rows.map(\.created) == [batches * perBatch])
        #expect(run.rows.map(\.transformed) == [batches * perBatch])
        #expect(run.isClosed && run.unfinished == 0 && run.entries.isEmpty)
        #expect(run.stages[.loader] == SyncLedger.StageCount(handled: batches * perBatch, written: batches * perBatch))
    }

    @Test("a drained backlog gives its memory back: the slots and the index shrink once what they held reached its end")
    func drainedBacklogIsGivenBack() {
        var ledger = FleetLedger(Self.configuration())
        let backlog = 40_000
        FleetLedgerScale.feed(&ledger, from: 0, count: backlog, results: true)
        Self.commit(&ledger, .transformer, "raw.billing-account", next: Int64(backlog))
        ledger.settle()
        #expect(ledger.openCount == 2 * backlog, "every record and its upsert wait for the loader")
        // A few more arrive while the loader catches up on the backlog.
        FleetLedgerScale.feed(&ledger, from: backlog, count: 10, results: true)
        Self.commit(&ledger, .loader, "upserts", next: Int64(backlog))
        ledger.settle()
        ledger.settle()
        #expect(ledger.openCount == 20)
        #expect(ledger.records.count == 10 && ledger.slots.buckets.count == FleetLedger.SlotIndex.minimumCapacity)
        Self.commit(&ledger, .transformer, "raw.billing-account", next: Int64(backlog + 10))
        Self.commit(&ledger, .loader, "upserts", next: Int64(backlog + 10))
        ledger.settle()
        ledger.settle()
        #expect(ledger.openCount == 0)
        #expect(ledger.ledger().rows.map(\.created) == [backlog + 10])
    }

    @Test("the counts of a ledger fed a run in refreshes, effects sometimes before their causes, are those of a full rebuild of the same facts")
    func countsEqualAFullRebuild() {
        for seed in [1, 7, 42] as [UInt64] {
            var run = SyntheticRun(seed: seed, records: 3_000)
            let facts = run.facts()
            let reference = FullRebuild.ledger(facts: facts, sources: ["nightly"], objects: Self.configuration().objects)

            var ledger = FleetLedger(Self.configuration(sources: ["nightly"]))
            for refresh in run.refreshes() {
                for message in refresh.messages {
                    switch message {
                    case let .raw(record): ledger.take(record)
                    case let .upsert(upsert): ledger.take(upsert)
                    case let .result(result): ledger.take(result)
                    case let .deadLetter(letter): ledger.take(letter)
                    case let .retryCopy(copy): ledger.take(copy)
                    }
                }
                for (stage, offsets) in refresh.committed { ledger.setCommitted(offsets, of: stage) }
                ledger.settle()
            }
            ledger.settle()
            let incremental = ledger.ledger(sources: ["nightly"])

            #expect(incremental.rows == reference.rows, "seed \(seed)")
            #expect(incremental.recordsExtracted == reference.recordsExtracted)
            #expect(incremental.refusedRows == reference.refusedRows)
            #expect(incremental.unrouted == reference.unrouted)
            #expect(incremental.retried == reference.retried)
            #expect(incremental.deadLetterGroups.map { "\($0.stage)|\($0.code)|\($0.field ?? "")=\($0.count)" }
                == reference.deadLetterGroups.map { "\($0.stage)|\($0.code)|\($0.field ?? "")=\($0.count)" })
            #expect(incremental.unfinished == reference.entries.filter { !$0.outcome.isFinal }.count)
            // Only what has not reached its end is still open: the records and totals with an entry
            // not final, or with a message some stage reading it has not committed past.
            let handled = { (stage: Stage, position: FleetFacts.Position) in
                facts.committed[stage]?[position.topicPartition].map { $0 > position.offset } ?? true
            }
            let nightly = Set(facts.raw.filter { $0.sourceName == "nightly" && $0.type != "billing-contact" }.map(\.id))
            var inFlight = Set(reference.entries.filter { !$0.outcome.isFinal }.compactMap { $0.record?.id ?? $0.upsert?.id })
            for record in facts.raw where nightly.contains(record.id) && !(handled(.transformer, record.position) && handled(.loaderBilling, record.position)) {
                inFlight.insert(record.id)
            }
            for upsert in facts.upserts where nightly.contains(upsert.causationId) && !handled(.loader, upsert.position) {
                inFlight.insert(upsert.writtenBy == .rollup ? upsert.id : upsert.causationId)
            }
            let notFinal = inFlight.count
            let open = ledger.records.filter { !$0.has(FleetLedger.OpenRecord.free) }.count
                + ledger.upserts.filter { $0.has(FleetLedger.OpenUpsert.rollup) && !$0.has(FleetLedger.OpenUpsert.free) }.count
            #expect(open == notFinal, "\(open) open, \(notFinal) not final, of \(facts.raw.count) records")
            // The same facts taken at once keep every entry, each with the rebuild's outcome.
            let atOnce = SyncLedger(facts: facts, sources: ["nightly"], objects: Self.configuration().objects)
            #expect(atOnce.rows == reference.rows)
            #expect(atOnce.entries.map(\.outcome) == reference.entries.map(\.outcome))
        }
    }

    @Test("an effect read before its cause waits for it, and one whose cause never comes is let go after two refreshes")
    func effectsWaitForTheirCause() {
        var ledger = FleetLedger(Self.configuration())
        let extracted = Date(timeIntervalSinceReferenceDate: 800_000_000)
        ledger.take(FleetFacts.LoadResult(causationId: "u1", sink: "salesforce", object: "Account", outcome: "updated"))
        ledger.take(FleetFacts.Upsert(id: "u1", causationId: "r1", object: "Account", externalId: "001", writtenBy: .transformer,
                                      position: .init(topic: "upserts", partition: 0, offset: 0)))
        ledger.take(FleetFacts.LoadResult(causationId: "u-of-nothing", sink: "salesforce", object: "Account", outcome: "created"))
        #expect(ledger.orphanCount == 3)
        ledger.take(FleetFacts.RawRecord(id: "r1", type: "billing-account", businessKey: "001", sourceName: "nightly",
                                         position: .init(topic: "raw.billing-account", partition: 0, offset: 0), extractedAt: extracted))
        #expect(ledger.orphanCount == 1)
        #expect(ledger.ledger().rows.map(\.updated) == [1])
        ledger.settle()
        ledger.settle()
        #expect(ledger.orphanCount == 0)
    }

    @Test("records of a source not followed are not kept at all, nor are their effects")
    func otherSourcesCostNothing() {
        var ledger = FleetLedger(Self.configuration(sources: ["nightly"]))
        ledger.take(FleetFacts.RawRecord(id: "r1", type: "billing-account", businessKey: "001", sourceName: "weekly",
                                         position: .init(topic: "raw.billing-account", partition: 0, offset: 0)))
        ledger.take(FleetFacts.LoadResult(causationId: "u1", sink: "salesforce", object: "Account", outcome: "created", sourceName: "weekly"))
        #expect(ledger.openCount == 0 && ledger.orphanCount == 0)
        #expect(ledger.ledger().recordsExtracted == 0)
    }

    @Test("a run's ledger counts only the records of its source extracted within its period, from counters and open records alike")
    func runsAreAnsweredByScope() {
        var ledger = FleetLedger(Self.configuration())
        let morning = Date(timeIntervalSinceReferenceDate: 800_000_000)
        let evening = morning.addingTimeInterval(12 * 3_600)
        for (offset, (source, at)) in [("nightly", morning), ("nightly", evening), ("weekly", morning)].enumerated() {
            ledger.take(FleetFacts.RawRecord(id: "r\(offset)", type: "billing-account", businessKey: "00\(offset)", sourceName: source,
                                             position: .init(topic: "raw.billing-account", partition: 0, offset: Int64(offset)), extractedAt: at))
        }
        Self.commit(&ledger, .transformer, "raw.billing-account", next: 2)  // the third still pending
        ledger.settle()
        ledger.settle()
        #expect(ledger.openCount == 1)
        let morningRun = ledger.ledger(sources: ["nightly"], extractedWithin: morning.addingTimeInterval(-1)...morning.addingTimeInterval(1))
        #expect(morningRun.recordsExtracted == 1 && morningRun.rows.map(\.unchanged) == [1])
        let weekly = ledger.ledger(sources: ["weekly"])
        #expect(weekly.rows.map(\.pending) == [1] && weekly.unfinished == 1)
        #expect(ledger.ledger().recordsExtracted == 3)
    }
}

/// What the ledger costs at scale, measured on demand (`BILLSYNC_LEDGER_SCALE=1000000 swift test
/// --filter FleetLedgerScale`): the process's resident memory after a million records flowed
/// through it, and per record held open behind a backlog.
@Suite("The fleet ledger's memory at scale", .enabled(if: ProcessInfo.processInfo.environment["BILLSYNC_LEDGER_SCALE"] != nil))
struct FleetLedgerScale {
    static var records: Int { Int(ProcessInfo.processInfo.environment["BILLSYNC_LEDGER_SCALE"] ?? "") ?? 1_000_000 }

    /// A field of /proc/self/status, in kB.
    static func status(_ field: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    static func feed(_ ledger: inout FleetLedger, from first: Int, count: Int, results: Bool) {
        let extracted = Date(timeIntervalSinceReferenceDate: 800_000_000)
        for offset in first..<(first + count) {
            let raw = UUID().uuidString
            let upsert = UUID().uuidString
            ledger.take(FleetFacts.RawRecord(id: raw, type: "billing-account", businessKey: String(format: "%010d", offset), sourceName: "nightly",
                                             position: .init(topic: "raw.billing-account", partition: 0, offset: Int64(offset)), file: "accounts.csv",
                                             line: offset + 2, extractedAt: extracted.addingTimeInterval(Double(offset) / 10_000)))
            ledger.take(FleetFacts.Upsert(id: upsert, causationId: raw, object: "Account", externalId: raw, writtenBy: .transformer,
                                          position: .init(topic: "upserts", partition: 0, offset: Int64(offset))))
            if results { ledger.take(FleetFacts.LoadResult(causationId: upsert, sink: "salesforce", object: "Account", outcome: "created")) }
        }
    }

    @Test("a million records flow through in refreshes of 10,000 and the resident memory stays flat; a backlog costs bytes per record held")
    func memory() {
        let before = Self.status("VmRSS")
        var ledger = FleetLedger(FleetLedgerTests.configuration())
        let step = 10_000
        var peak = 0
        for first in stride(from: 0, to: Self.records, by: step) {
            Self.feed(&ledger, from: first, count: step, results: true)
            FleetLedgerTests.commit(&ledger, .transformer, "raw.billing-account", next: Int64(first + step))
            FleetLedgerTests.commit(&ledger, .loader, "upserts", next: Int64(first + step))
            ledger.settle()
            peak = max(peak, Self.status("VmRSS"))
        }
        ledger.settle()
        let flowed = Self.status("VmRSS")
        #expect(ledger.openCount == 0)
        #expect(ledger.ledger().rows.map(\.created) == [Self.records])

        // A backlog: the loader has handled none of the next records' upserts.
        let backlog = Self.records / 4
        Self.feed(&ledger, from: Self.records, count: backlog, results: false)
        FleetLedgerTests.commit(&ledger, .transformer, "raw.billing-account", next: Int64(Self.records + backlog))
        ledger.settle()
        let held = Self.status("VmRSS")
        print("""
            ledger scale: \(Self.records) records flowed: RSS \(before / 1024) MB before, peak \(peak / 1024) MB, \(flowed / 1024) MB after; \
            \(backlog) held behind a loader backlog: \(held / 1024) MB (\((held - flowed) * 1024 / backlog) bytes per record with its upsert)
            """)
    }
}
