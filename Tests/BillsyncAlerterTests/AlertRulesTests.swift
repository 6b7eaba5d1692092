import BillsyncAlerter
import BillsyncContracts
import BillsyncKafka
import BillsyncTestSupport
import BillsyncTopics
import Foundation
import Testing

/// What each rule finds in what the alerter has seen, at a given time.
@Suite("The rules find each root cause once, with its numbers")
struct AlertRulesTests {
    let start = Date(timeIntervalSince1970: 1_795_000_000)
    func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

    /// A dead letter as the loader writes one: the upsert that failed, with the runtime's headers.
    static func loaderDeadLetter(customer: String, code: String = "STRING_TOO_LONG", pointer: String = "/payload/fields/MailingStreet",
                                 at date: Date, offset: Int64, replay: Bool = false) throws -> KafkaConsumerMessage {
        let upsert = MessageEnvelope(source: MessageSource(system: .billsync, name: "transformer"), businessKey: customer, occurredAt: nil,
                                     payload: CRMUpsert(object: "Contact", externalIdField: "Billing_Contact_Id__c", externalId: customer,
                                                        fields: ["MailingStreet": .string(String(repeating: "x", count: 300))]))
        var headers = [
            KafkaHeader(name: StageHeaders.stage, string: "loader"), KafkaHeader(name: StageHeaders.errorCode, string: code),
            KafkaHeader(name: StageHeaders.errorMessage, string: "Contact.MailingStreet: data value too large: 300 characters (max 255)."),
            KafkaHeader(name: StageHeaders.errorPointer, string: pointer),
        ]
        if replay { headers.append(KafkaHeader(name: StageHeaders.replayID, string: "replay-1")) }
        return KafkaConsumerMessage(topic: "billsync.loader.dlq", partition: 0, offset: offset, key: Array(customer.utf8),
                                    value: try TestRepository.contracts.encode(upsert), headers: headers, timestamp: date)
    }

    @Test("412 dead letters with one code on one field are one group, with three examples and the redrive command")
    func deadLettersGroupByRootCause() throws {
        var seen = AlerterObservations()
        for index in 0..<412 {
            seen.deadLetter(try Self.loaderDeadLetter(customer: String(format: "%010d", index), at: at(Double(index)), offset: Int64(index)),
                            stage: .loader, at: at(500))
        }
        seen.deadLetter(try Self.loaderDeadLetter(customer: "0000009999", code: "INVALID_EMAIL_ADDRESS", pointer: "/payload/fields/Email",
                                                  at: at(10), offset: 999), stage: .loader, at: at(500))
        let conditions = RuleEvaluation(rules: AlertRules()).conditions(seen, now: at(600))
        #expect(conditions.count == 2)
        let group = try #require(conditions.first { $0.labels["code"] == "STRING_TOO_LONG" })
        #expect(group.count == 412)
        #expect(group.title.hasPrefix("412 records failed at the loader with STRING_TOO_LONG on Contact.MailingStreet since "))
        #expect(group.examples.count == 3)
        #expect(group.command == "billsync dlq redrive --stage loader --code STRING_TOO_LONG --field /payload/fields/MailingStreet")
        #expect(group.severity == .critical)  // 412 ≥ the default criticalAt of 100
        #expect(group.annotation == nil)
    }

    @Test("dead letters a replay caused are annotated, and the group resolves once its window is quiet")
    func deadLettersFromAReplay() throws {
        var seen = AlerterObservations()
        seen.deadLetter(try Self.loaderDeadLetter(customer: "0000000001", at: at(0), offset: 0, replay: true), stage: .loader, at: at(0))
        let evaluation = RuleEvaluation(rules: AlertRules())
        let condition = try #require(evaluation.conditions(seen, now: at(60)).first)
        #expect(condition.annotation == "all 1 came from a replay or redrive")
        #expect(evaluation.conditions(seen, now: at(3_700)).isEmpty)
    }

    static func result(_ object: String, success: Bool, id: String) -> CRMLoadResult {
        CRMLoadResult(object: object, externalIdField: "X__c", externalId: id, sink: .salesforce, outcome: success ? .updated : .failed,
                      recordId: success ? "001" : nil, errors: success ? [] : [.init(code: "FIELD_CUSTOM_VALIDATION_EXCEPTION", message: "no")])
    }

    @Test("no successful load of an object for longer than the schedule allows is a staleness alert; within it, none")
    func staleness() throws {
        var seen = AlerterObservations()
        seen.loadResult(Self.result("Account", success: true, id: "1"), at: at(0))
        let evaluation = RuleEvaluation(rules: AlertRules())
        #expect(evaluation.conditions(seen, now: at(5 * 3_600)).isEmpty)
        let stale = try #require(evaluation.conditions(seen, now: at(7 * 3_600)).first)
        #expect(stale.kind == .staleness)
        #expect(stale.title == "No Account loaded for 7 hours: a scheduled sync was missed")
    }

    @Test("a load error rate over the threshold is one alert per object; a few failures among few results are not")
    func loadErrorRate() throws {
        var seen = AlerterObservations()
        for index in 0..<3 { seen.loadResult(Self.result("Account", success: false, id: "\(index)"), at: at(0)) }
        let evaluation = RuleEvaluation(rules: AlertRules())
        #expect(evaluation.conditions(seen, now: at(60)).filter { $0.kind == .loadFailures }.isEmpty)
        for index in 0..<30 { seen.loadResult(Self.result("Account", success: true, id: "ok\(index)"), at: at(0)) }
        let rate = try #require(evaluation.conditions(seen, now: at(60)).first { $0.kind == .loadFailures })
        #expect(rate.title == "9 % of Account loads failed in the last 15 minutes")
        #expect(rate.count == 3)
    }

    func status(_ worker: String, stage: String = "loader", at date: Date, position: Int64, lag: Int64, lagSeconds: Double = 1,
                state: WorkerStatus.State = .running) -> WorkerStatus {
        WorkerStatus(worker: worker, stage: stage, group: "billsync-\(stage)", state: state, reportedAt: Timestamp(date), intervalSeconds: 15,
                     handled: Int(position), partitions: [.init(topic: "billsync.crm.upserts", partition: 0, position: position, lagMessages: lag,
                                                                lagSeconds: lagSeconds)])
    }

    /// Heartbeats every 15 s for `minutes`, each evaluated so the history holds a sample per beat.
    func follow(_ engine: inout AlerterObservations, minutes: Int, position: (Int) -> Int64, lag: (Int) -> Int64) -> [AlertCondition] {
        let evaluation = RuleEvaluation(rules: AlertRules())
        var conditions: [AlertCondition] = []
        for beat in 0...(minutes * 4) {
            let now = at(Double(beat * 15))
            engine.heartbeat(status("loader-1", at: now, position: position(beat), lag: lag(beat)), at: now)
            conditions = evaluation.conditions(engine, now: now)
            engine.recordLagSample(evaluation: evaluation, at: now)
        }
        return conditions
    }

    @Test("offsets that do not move while messages wait, for ten minutes, are a stalled stage")
    func stalled() {
        var seen = AlerterObservations()
        let conditions = follow(&seen, minutes: 11, position: { _ in 500 }, lag: { _ in 120 })
        #expect(conditions.map(\.kind) == [.consumerStalled])
        #expect(conditions.first?.title.hasPrefix("The loader is stalled: no progress for 10 minutes with 120 messages waiting") == true)
    }

    @Test("a stage whose offsets move while its lag keeps growing is falling behind, not stalled")
    func fallingBehind() {
        var seen = AlerterObservations()
        let conditions = follow(&seen, minutes: 16, position: { 500 + Int64($0) * 10 }, lag: { 100 + Int64($0) * 5 })
        #expect(conditions.map(\.kind) == [.consumerLag])
        #expect(conditions.first?.key == "growing/loader")
    }

    @Test("a stage that keeps up raises nothing, and one 40 minutes behind says so in minutes")
    func lagInSeconds() {
        var seen = AlerterObservations()
        #expect(follow(&seen, minutes: 16, position: { 500 + Int64($0) * 10 }, lag: { $0 % 2 == 0 ? 3 : 0 }).isEmpty)
        seen.heartbeat(status("loader-1", at: at(1_000), position: 2_000, lag: 900, lagSeconds: 2_400), at: at(1_000))
        let behind = RuleEvaluation(rules: AlertRules()).conditions(seen, now: at(1_000)).first { $0.key == "lag/loader" }
        #expect(behind?.title == "The loader is 40 minutes behind (900 messages)")
    }

    @Test("a worker that stopped reporting is missing until a replacement reports; one that said it stopped is not")
    func missingWorker() {
        var seen = AlerterObservations()
        let evaluation = RuleEvaluation(rules: AlertRules())
        seen.heartbeat(status("loader-a", at: at(0), position: 1, lag: 0), at: at(0))
        seen.heartbeat(status("loader-b", at: at(0), position: 1, lag: 0, state: .stopped), at: at(0))
        let missing = evaluation.conditions(seen, now: at(120))
        #expect(missing.map(\.kind) == [.workerMissing])
        #expect(missing.first?.severity == .critical)
        #expect(missing.first?.examples == ["loader-a"])
        seen.heartbeat(status("loader-c", at: at(130), position: 1, lag: 0), at: at(130))
        #expect(evaluation.conditions(seen, now: at(140)).isEmpty)
    }

    @Test("after the alerter restarts, a worker that was running all along is no replacement for one that went silent")
    func missingWorkerAfterRestart() {
        // A fresh alerter first hears of both workers now: only their start times can tell.
        var seen = AlerterObservations()
        var survivor = status("loader-b", at: at(600), position: 1, lag: 0)
        survivor.startedAt = Timestamp(at(-3_600))
        seen.heartbeat(status("loader-a", at: at(0), position: 1, lag: 0), at: at(600))
        seen.heartbeat(survivor, at: at(600))
        let missing = RuleEvaluation(rules: AlertRules()).conditions(seen, now: at(610))
        #expect(missing.map(\.key) == ["worker-missing/loader"])
        #expect(missing.first?.severity == .warning, "one loader still runs")
        var replacement = status("loader-c", at: at(600), position: 1, lag: 0)
        replacement.startedAt = Timestamp(at(300))
        seen.heartbeat(replacement, at: at(600))
        #expect(RuleEvaluation(rules: AlertRules()).conditions(seen, now: at(610)).isEmpty)
    }

    @Test("a rules file overrides the defaults, and a wrong key or value is refused by name")
    func rulesFile() throws {
        let rules = try AlertRules(yaml: "lag:\n  seconds: 40m\nlifecycle:\n  groupWait: 10s\n  growthFactor: 3\n")
        #expect(rules.lag.seconds == .seconds(2_400))
        #expect(rules.lifecycle.groupWait == .seconds(10))
        #expect(rules.lifecycle.growthFactor == 3)
        #expect(rules.deadLetters.window == .seconds(3_600))
        #expect(throws: AlertRulesError.self) { try AlertRules(yaml: "lag:\n  secnds: 40m\n") }
        do {
            _ = try AlertRules(yaml: "staleness:\n  after: soon\n")
            Issue.record("accepted a bad duration")
        } catch let error as AlertRulesError {
            #expect(error.description == "rules: staleness.after: 'soon' is not a duration (like 30s, 15m, 6h)")
        }
    }
}
