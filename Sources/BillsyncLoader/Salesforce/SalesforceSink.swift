import BillsyncContracts
import BillsyncSalesforce
import BillsyncRuntime
import Foundation
import Logging
import Metrics
import Synchronization

/// The loader's sink for Salesforce: upserts by external id through sObject Collections (200
/// records a call, grouped by object) or, for a backlog, Bulk API 2.0 jobs; publishes every
/// record's outcome to the results topic (and each success to the compacted loaded-records
/// topic, change suppression's memory), and classes failures for the runtime's retry policy:
/// - `UNABLE_TO_LOCK_ROW`, 5xx, timeouts: transient; the runtime sends the records that failed
///   together again in one call;
/// - other validation errors: dead-lettered with Salesforce's code, message and fields, and a
///   failed result published;
/// - `REQUEST_LIMIT_EXCEEDED` for the daily limit ("TotalRequests"), or usage past the budget's
///   share: the loader pauses (stops taking messages, sends nothing), says so once, probes the
///   limits resource now and then on its clock, and resumes by itself; the refused call is not
///   an attempt. For the concurrent long-running request limit ("ConcurrentRequests") it only
///   backs off briefly and sends the call again: no pause, no alert.
///
/// Order between record types: commands of one batch for the same record are merged into one
/// upsert (`MergedUpsert`: an account's and its bill's fields go together). A record that does
/// not exist yet and that no command of the batch can create (it lacks a field Salesforce
/// requires on create, from the object's describe) is not sent: it waits, without a call, for
/// the batches that follow (`StageFailure.waiting`) until its creating command arrives and they
/// are merged, for at most the runtime's `maximumWait`; only then is it sent as it is (and,
/// if Salesforce refuses it as `REQUIRED_FIELD_MISSING`, retried like a transient failure).
public struct SalesforceSink: Sink {
    public static let kind = CRMLoadResult.Sink.salesforce
    public typealias Input = MessageEnvelope<CRMUpsert>

    public let client: SalesforceClient
    public let resultsTopic: String
    public let alertsTopic: String
    /// Where each successful load result is also written, keyed by record and field set
    /// (compacted); nil writes none.
    public var loadedTopic: String?
    /// Which records exist (any load of them succeeded: read from the loaded-records topic and
    /// added to as this loader loads).
    public var knownRecords = LoadedRecords(use: .existence)
    public var recordsPerCall = SalesforceLoadCost.recordsPerCall
    /// From this many records of one object in one batch on, they go through a Bulk API 2.0
    /// job (a backfill's backlog); below it, through sObject Collections.
    public var bulkThreshold = SalesforceLoadCost.bulkThreshold
    /// How often a paused loader asks whether it may resume.
    public var probeInterval: Duration = .seconds(60)
    /// What the pause's probes sleep on.
    public var clock: WallClock = .system
    /// Publishes an alert at once (a pause can last hours; the batch's outputs would only be
    /// written when it ends). Without it, the alert goes out with the batch's results.
    public var announce: (@Sendable (OutgoingMessage) async -> Void)?
    let contracts: MessageContracts
    let logger: Logger
    let requirements = CreateRequirements()
    let resumption = BulkResumption()
    let pauses = SharedPause()
    private let pausedGauge = Gauge(label: "billsync_loader_paused")

    public init(client: SalesforceClient, resultsTopic: String, alertsTopic: String, contracts: MessageContracts, logger: Logger) {
        self.client = client
        self.resultsTopic = resultsTopic
        self.alertsTopic = alertsTopic
        self.contracts = contracts
        self.logger = logger
    }

    /// Messages handed over at once; the runtime's `maximumInFlight` should be as large, so a
    /// backfill's backlog arrives in batches big enough for Bulk API jobs.
    public var maximumBatch = 10_000
    public var batchSize: Int { maximumBatch }

    /// What Salesforce answered for one record of a call, or why the call as a whole failed.
    enum Answer {
        case record(SalesforceClient.RecordOutcome)
        case failed(StageFailure)
    }

    public func handle(_ batch: [ContractMessage<CRMUpsert>]) async -> [Result<[OutgoingMessage], StageFailure>] {
        var results = [Result<[OutgoingMessage], StageFailure>?](repeating: nil, count: batch.count)
        var alerts: [OutgoingMessage] = []
        for group in MergedUpsert.merge(batch) {
            let object = group[0].upsert.object
            let required = await requirements.fields(object: object, client: client, logger: logger)
            var ready: [MergedUpsert] = []
            for record in group {
                let missing = required.subtracting(record.upsert.fields.keys)
                if !missing.isEmpty, !knownRecords.exists(object: object, externalId: record.upsert.externalId),
                   record.members.allSatisfy({ batch[$0].mayWait }) {
                    let failure = StageFailure.waiting("loader.awaits-record", """
                        \(object) \(record.upsert.externalId) does not exist yet and this change cannot create it (it lacks \
                        \(missing.sorted().joined(separator: ", "))): it waits for the change that does
                        """)
                    for member in record.members { results[member] = .failure(failure) }
                } else {
                    ready.append(record)
                }
            }
            guard !ready.isEmpty else { continue }
            var answers: [Answer] = []
            if ready.count >= bulkThreshold {
                answers = await loadInBulk(ready, alerts: &alerts)
            } else {
                let calls = stride(from: 0, to: ready.count, by: recordsPerCall).map { Array(ready[$0..<min($0 + recordsPerCall, ready.count)]) }
                answers = await loadTogether(calls, alerts: &alerts)
            }
            for (record, answer) in zip(ready, answers) {
                for (member, result) in outcome(of: record, answer, in: batch) { results[member] = result }
            }
        }
        var final = results.map { $0 ?? .failure(.transient("loader.no-result", "no outcome was recorded")) }
        if !alerts.isEmpty {
            if let first = final.firstIndex(where: { (try? $0.get()) != nil }) {
                final[first] = final[first].map { $0 + alerts }
            } else {
                logger.error("an alert had no successful record to go out with and no announcer; it is only in this log",
                             metadata: ["billsync.alert_count": "\(alerts.count)"])
            }
        }
        return final
    }

    /// Several calls' worth of records of one object, sent side by side: as many at once as the
    /// client allows (`SalesforceClient.callsInFlight`), over its pooled connections. They hold
    /// distinct records (one upsert per record and batch), so their order does not matter.
    func loadTogether(_ calls: [[MergedUpsert]], alerts: inout [OutgoingMessage]) async -> [Answer] {
        if calls.count == 1 { return await load(calls[0], alerts: &alerts) }
        var answered = [[Answer]](repeating: [], count: calls.count)
        var raised: [OutgoingMessage] = []
        await withTaskGroup(of: (Int, [Answer], [OutgoingMessage]).self) { group in
            for (index, call) in calls.enumerated() {
                group.addTask {
                    var alerts: [OutgoingMessage] = []
                    let answers = await load(call, alerts: &alerts)
                    return (index, answers, alerts)
                }
            }
            for await (index, answers, alerts) in group {
                answered[index] = answers
                raised += alerts
            }
        }
        alerts += raised
        return answered.flatMap { $0 }
    }

    /// One call's worth of records (one object, distinct external ids), sent once (a refusal
    /// for the API limit waits and sends again: it was not an attempt).
    func load(_ records: [MergedUpsert], alerts: inout [OutgoingMessage]) async -> [Answer] {
        let first = records[0].upsert
        while true {
            await waitWhileOverBudget(alerts: &alerts)
            do {
                let outcomes = try await client.upsertCollection(object: first.object, externalIdField: first.externalIdField,
                                                                 records: records.map(\.upsert))
                return outcomes.map(Answer.record)
            } catch SalesforceError.limitExceeded(let message) {
                await pause(reason: message, alerts: &alerts)
            } catch SalesforceError.concurrencyLimitExceeded(let message) {
                if await !backOffForConcurrency(message) { return records.map { _ in .failed(.transient("sf.concurrency", message)) } }
            } catch SalesforceError.transient(let message) {
                return records.map { _ in .failed(.transient("sf.call", message)) }
            } catch let error as SalesforceError {
                // The whole call was refused (a malformed object name, a lost permission): every
                // record needs a person, so each is dead-lettered with the reason.
                return records.map { _ in .failed(.permanent("sf.call", "\(error)")) }
            } catch {
                return records.map { _ in .failed(StageFailure(unexpected: error)) }
            }
        }
    }

    /// One Bulk API 2.0 job for records of one object with distinct external ids, sent once like
    /// a Collections call: records that failed transiently or were not processed, or all of them
    /// when the job itself failed, go back to the runtime as transient.
    func loadInBulk(_ records: [MergedUpsert], alerts: inout [OutgoingMessage]) async -> [Answer] {
        let first = records[0].upsert
        // Records a job left by an earlier loader already loaded are answered from it.
        let resumed = await resumption.outcomes(for: records.map(\.upsert), object: first.object, externalIdField: first.externalIdField,
                                                client: client, logger: logger)
        let toLoad = resumed.isEmpty ? records : records.filter { resumed[$0.upsert.externalId] == nil }
        if toLoad.isEmpty { return records.map { .record(resumed[$0.upsert.externalId]!) } }
        while true {
            await waitWhileOverBudget(alerts: &alerts)
            do {
                let job = try await client.bulkUpsert(object: first.object, externalIdField: first.externalIdField,
                                                      records: toLoad.map(\.upsert))
                return records.map { record in
                    (resumed[record.upsert.externalId] ?? job.outcomes[record.upsert.externalId]).map(Answer.record)
                        ?? .failed(.transient("sf.bulk.unprocessed", "the bulk job did not process this record"))
                }
            } catch SalesforceError.limitExceeded(let message) {
                await pause(reason: message, alerts: &alerts)
                continue
            } catch SalesforceError.concurrencyLimitExceeded(let message) {
                if await backOffForConcurrency(message) { continue }
                return records.map { resumed[$0.upsert.externalId].map(Answer.record) ?? .failed(.transient("sf.concurrency", message)) }
            } catch SalesforceError.bulkJobEnded(var end) {
                end.outcome.outcomes.merge(resumed) { job, _ in job }
                return answers(of: end, for: records)
            } catch {
                logger.warning("bulk job failed; its records go back for the runtime's retry", metadata: ["billsync.error": "\(error)"])
                let failure = StageFailure.transient("sf.bulk", "the bulk job failed: \(error)")
                return records.map { resumed[$0.upsert.externalId].map(Answer.record) ?? .failed(failure) }
            }
        }
    }

    /// Each merged command's result. A refusal that names fields falls on the commands that set
    /// them; the others merged with them were not loaded either and go back as transient, to be
    /// sent again without them.
    func outcome(of record: MergedUpsert, _ answer: Answer, in batch: [ContractMessage<CRMUpsert>]) -> [(Int, Result<[OutgoingMessage], StageFailure>)] {
        let answered: SalesforceClient.RecordOutcome
        switch answer {
        case let .failed(failure): return record.members.map { ($0, .failure(failure)) }
        case let .record(outcome): answered = outcome
        }
        let refusedFields = Set(answered.errors.flatMap(\.fields))
        let blamed = record.members.filter { member in
            !refusedFields.isDisjoint(with: batch[member].envelope.payload.fields.keys)
        }
        return record.members.map { member in
            do {
                if !answered.success, !blamed.isEmpty, !blamed.contains(member),
                   !answered.errors.contains(where: { Self.transientCodes.contains($0.code) || Self.dependencyCodes.contains($0.code) }) {
                    return (member, .failure(.transient("loader.merged-with-refused",
                                                        "sent together with a change Salesforce refused (\(Self.describe(answered.errors))); sent again without it")))
                }
                return (member, try decide(batch[member], answered))
            } catch {
                return (member, .failure(StageFailure(unexpected: error)))
            }
        }
    }

    /// A command's result from its record's outcome.
    func decide(_ message: ContractMessage<CRMUpsert>, _ answer: SalesforceClient.RecordOutcome) throws -> Result<[OutgoingMessage], StageFailure> {
        if answer.success {
            let result = try result(for: message, outcome: answer.created ? .created : .updated, recordId: answer.id, errors: [])
            let upsert = message.envelope.payload
            let fingerprint = upsert.fingerprint
            knownRecords.loaded(fingerprint)
            guard let loadedTopic else { return .success([result]) }
            let key = "\(upsert.object)/\(upsert.externalId.lowercased())/\(String(fingerprint.key, radix: 16))"
            return .success([result, OutgoingMessage(topic: loadedTopic, key: key, value: result.value, headers: result.headers)])
        }
        let codes = answer.errors.map(\.code)
        if answer.errors.contains(where: { Self.transientCodes.contains($0.code) }) {
            return .failure(.transient("sf.\(codes.first ?? "transient")", codes.joined(separator: ", ")))
        }
        if answer.errors.allSatisfy({ Self.dependencyCodes.contains($0.code) }) {
            // A change sent without its record's creating change (it waited `maximumWait` for
            // it): retried, as the record may exist by then.
            var failure = StageFailure.transient("sf.\(answer.errors[0].code)", Self.describe(answer.errors) + " (the record may not exist yet)")
            failure.companions = [try result(for: message, outcome: .failed, recordId: nil, errors: answer.errors, counted: false)]
            return .failure(failure)
        }
        var failure = StageFailure.permanent("sf.\(answer.errors[0].code)", Self.describe(answer.errors),
                                             pointer: answer.errors[0].fields.first.map { "/payload/fields/\($0)" })
        failure.companions = [try result(for: message, outcome: .failed, recordId: nil, errors: answer.errors)]
        return .failure(failure)
    }

    /// Errors of a record that may need another record loaded first.
    static let dependencyCodes: Set<String> = ["REQUIRED_FIELD_MISSING"]

    static let transientCodes: Set<String> = ["UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION", "REQUEST_RUNNING_TOO_LONG"]

    static func describe(_ errors: [CRMLoadResult.RecordError]) -> String {
        errors.map { "\($0.code): \($0.message)" + ($0.fields.isEmpty ? "" : " (fields: \($0.fields.joined(separator: ", ")))") }
            .joined(separator: "; ")
    }

    func result(for message: ContractMessage<CRMUpsert>, outcome: CRMLoadResult.Outcome, recordId: String?,
                errors: [CRMLoadResult.RecordError], counted: Bool = true) throws -> OutgoingMessage {
        try LoadResults(sink: .salesforce, topic: resultsTopic, contracts: contracts)
            .message(for: message, outcome: outcome, recordId: recordId, errors: errors, counted: counted)
    }


    func waitWhileOverBudget(alerts: inout [OutgoingMessage]) async {
        if client.budget.allowsCalls { return }
        let usage = client.budget.usage
        await pause(reason: "usage \(usage.used) of \(usage.limit) reached the loader's share of \(Int(client.budget.share * 100)) %", alerts: &alerts)
    }

    /// Waits until Salesforce accepts calls again and usage is under the share. Nothing is taken
    /// from the consumer meanwhile; the group membership stays. Calls sent together that reach
    /// the limit share one pause: one alert, one probe loop.
    func pause(reason: String, alerts: inout [OutgoingMessage]) async {
        if let alert = await pauses.join({ await self.pausing(reason: reason) }) { alerts.append(alert) }
    }

    /// The pause itself; returns its alert when there is no announcer to publish it at once.
    func pausing(reason: String) async -> OutgoingMessage? {
        logger.error("loader paused: Salesforce API limit", metadata: ["billsync.reason": "\(reason)"])
        pausedGauge.record(1)
        var unannounced: OutgoingMessage?
        if let alert = try? alert(reason: reason) {
            if let announce { await announce(alert) } else { unannounced = alert }
        }
        defer {
            pausedGauge.record(0)
            logger.notice("loader resumed", metadata: ["billsync.usage": "\(client.budget.usage.used)/\(client.budget.usage.limit)"])
        }
        while !Task.isCancelled {
            do { try await clock.sleep(for: probeInterval) } catch { break }
            do {
                _ = try await client.dailyUsage()
                if client.budget.allowsCalls { break }
            } catch {
                continue
            }
        }
        return unannounced
    }

    func alert(reason: String) throws -> OutgoingMessage {
        let now = Timestamp.now
        let payload = Alert(alertId: UUID(), dedupeKey: "api-budget/salesforce", severity: .critical, kind: .apiBudget,
                            title: "Loader paused: Salesforce API limit", summary: "The loader stopped sending to Salesforce: \(reason). It resumes by itself once the org accepts calls again.",
                            stage: "loader", topic: nil, count: 1, firstSeenAt: now, lastSeenAt: now, runbook: nil)
        let envelope = MessageEnvelope(source: MessageSource(system: .billsync, name: "loader"), businessKey: "api-budget/salesforce",
                                       occurredAt: now, payload: payload)
        return try OutgoingMessage(topic: alertsTopic, message: envelope, contracts: contracts)
    }
}


/// The fields each object requires on create, asked once per object per process. An object
/// whose describe fails is treated as requiring nothing (its commands are sent as they come, as
/// before), and asked again on a later batch.
final class CreateRequirements: Sendable {
    private let known = Mutex<[String: Set<String>]>([:])

    func fields(object: String, client: SalesforceClient, logger: Logger) async -> Set<String> {
        if let fields = known.withLock({ $0[object] }) { return fields }
        do {
            let fields = try await client.fieldsRequiredOnCreate(object: object)
            known.withLock { $0[object] = fields }
            return fields
        } catch {
            logger.warning("the object's describe failed; its changes are sent without waiting for their records",
                           metadata: ["billsync.object": "\(object)", "billsync.error": "\(error)"])
            return []
        }
    }
}

/// One pause at a time: the first caller runs it, the others wait for its end. Its alert goes
/// to the caller that started it.
final class SharedPause: Sendable {
    private let current = Mutex<Task<OutgoingMessage?, Never>?>(nil)

    func join(_ pause: @escaping @Sendable () async -> OutgoingMessage?) async -> OutgoingMessage? {
        let (task, started) = current.withLock { current -> (Task<OutgoingMessage?, Never>, Bool) in
            if let running = current { return (running, false) }
            let task = Task { await pause() }
            current = task
            return (task, true)
        }
        let alert = await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            if started { task.cancel() }
        }
        guard started else { return nil }
        current.withLock { $0 = nil }
        return alert
    }
}
