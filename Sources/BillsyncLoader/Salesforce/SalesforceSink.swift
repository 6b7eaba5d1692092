import BillsyncContracts
import BillsyncRuntime
import Foundation
import Logging
import Metrics

/// The loader's sink for Salesforce: upserts by external id through sObject Collections (200
/// records a call, grouped by object) or, for a backlog, Bulk API 2.0 jobs; publishes every
/// record's outcome to the results topic, and classes failures for the runtime's retry policy:
/// - `UNABLE_TO_LOCK_ROW`, 5xx, timeouts: transient; the runtime sends the records that failed
///   together again in one call;
/// - `REQUIRED_FIELD_MISSING` (typically an update whose creating upsert comes later in the
///   batch): transient, so the runtime's next attempt, after the whole batch, finds the record;
/// - other validation errors: dead-lettered with Salesforce's code, message and fields, and a
///   failed result published;
/// - `REQUEST_LIMIT_EXCEEDED`, or usage past the budget's share: the loader pauses (stops taking
///   messages, sends nothing), says so once, probes the limits resource now and then on its
///   clock, and resumes by itself; the refused call is not an attempt.
///
/// Records of one external id in one batch are sent in separate calls, in order, so the last
/// change is the one that stays.
public struct SalesforceSink: Sink {
    public static let kind = CRMLoadResult.Sink.salesforce
    public typealias Input = MessageEnvelope<CRMUpsert>

    public let client: SalesforceClient
    public let resultsTopic: String
    public let alertsTopic: String
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

    public func handle(_ batch: [ContractMessage<CRMUpsert>]) async -> [Result<[OutgoingMessage], StageFailure>] {
        var results = [Result<[OutgoingMessage], StageFailure>?](repeating: nil, count: batch.count)
        var alerts: [OutgoingMessage] = []
        // Group by object and external id field, keeping arrival order within each group.
        var groups: [String: [Int]] = [:]
        var order: [String] = []
        for (index, message) in batch.enumerated() {
            let key = "\(message.envelope.payload.object)|\(message.envelope.payload.externalIdField)"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(index)
        }
        for key in order {
            // Waves: a record whose external id already appears in this wave waits for the next one.
            var remaining = groups[key]!
            // External ids whose earlier change failed transiently (a lock, a 5xx): their later
            // changes are not sent before it, or the runtime's retry would put the older change
            // last. Not after a missing-record failure: the later change may be the very upsert
            // that creates the record (a bill's amounts before its account's Name), and the two
            // set different fields.
            var waitingForRetry = Set<String>()
            while !remaining.isEmpty {
                var wave: [Int] = []
                var later: [Int] = []
                var ids = Set<String>()
                for index in remaining {
                    let externalId = batch[index].envelope.payload.externalId
                    if waitingForRetry.contains(externalId) {
                        results[index] = .failure(.transient("loader.order", "an earlier change of \(externalId) in this batch waits for its retry"))
                    } else if ids.insert(externalId).inserted {
                        wave.append(index)
                    } else {
                        later.append(index)
                    }
                }
                defer {
                    for index in wave {
                        if case let .failure(failure)? = results[index], failure.errorClass == .transient,
                           !Self.dependencyCodes.contains(where: { failure.code == "sf.\($0)" }) {
                            waitingForRetry.insert(batch[index].envelope.payload.externalId)
                        }
                    }
                }
                if wave.count >= bulkThreshold {
                    for (index, result) in await loadInBulk(wave.map { batch[$0] }, alerts: &alerts) { results[wave[index]] = result }
                    remaining = later
                    continue
                }
                for start in stride(from: 0, to: wave.count, by: recordsPerCall) {
                    let slice = Array(wave[start..<min(start + recordsPerCall, wave.count)])
                    for (index, result) in await load(slice.map { batch[$0] }, alerts: &alerts) { results[slice[index]] = result }
                }
                remaining = later
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

    /// One call's worth of records (one object, distinct external ids), sent once (a refusal
    /// for the API limit waits and sends again: it was not an attempt). Returns, per record (by
    /// position), its result.
    func load(_ messages: [ContractMessage<CRMUpsert>], alerts: inout [OutgoingMessage]) async -> [(Int, Result<[OutgoingMessage], StageFailure>)] {
        let first = messages[0].envelope.payload
        while true {
            await waitWhileOverBudget(alerts: &alerts)
            do {
                let answers = try await client.upsertCollection(object: first.object, externalIdField: first.externalIdField,
                                                                records: messages.map(\.envelope.payload))
                return try zip(messages.indices, answers).map { position, answer in
                    if let decided = try decide(messages[position], answer) { return (position, decided) }
                    let codes = answer.errors.map(\.code)
                    return (position, .failure(.transient("sf.\(codes.first ?? "transient")", codes.joined(separator: ", "))))
                }
            } catch SalesforceError.limitExceeded(let message) {
                await pause(reason: message, alerts: &alerts)
            } catch SalesforceError.concurrencyLimitExceeded(let message) {
                if await !backOffForConcurrency(message) { return messages.indices.map { ($0, .failure(.transient("sf.concurrency", message))) } }
            } catch SalesforceError.transient(let message) {
                return messages.indices.map { ($0, .failure(.transient("sf.call", message))) }
            } catch let error as SalesforceError {
                // The whole call was refused (a malformed object name, a lost permission): every
                // record needs a person, so each is dead-lettered with the reason.
                return messages.indices.map { ($0, .failure(.permanent("sf.call", "\(error)"))) }
            } catch {
                return messages.indices.map { ($0, .failure(StageFailure(unexpected: error))) }
            }
        }
    }

    /// A record's result, or nil when it failed transiently (the runtime's retry sends it again).
    func decide(_ message: ContractMessage<CRMUpsert>, _ answer: SalesforceClient.RecordOutcome) throws -> Result<[OutgoingMessage], StageFailure>? {
        if answer.success {
            return .success([try result(for: message, outcome: answer.created ? .created : .updated, recordId: answer.id, errors: [])])
        }
        if answer.errors.contains(where: { Self.transientCodes.contains($0.code) }) { return nil }
        if answer.errors.allSatisfy({ Self.dependencyCodes.contains($0.code) }) {
            // Typically an update (a bill's amounts) for a record whose creating upsert (the
            // account, with its Name) comes later in the batch: the runtime's next attempt,
            // after the whole batch, finds the record.
            var failure = StageFailure.transient("sf.\(answer.errors[0].code)", Self.describe(answer.errors) + " (the record may not exist yet)")
            failure.companions = [try result(for: message, outcome: .failed, recordId: nil, errors: answer.errors, counted: false)]
            return .failure(failure)
        }
        var failure = StageFailure.permanent("sf.\(answer.errors[0].code)", Self.describe(answer.errors),
                                             pointer: answer.errors[0].fields.first.map { "/payload/fields/\($0)" })
        failure.companions = [try result(for: message, outcome: .failed, recordId: nil, errors: answer.errors)]
        return .failure(failure)
    }

    /// One Bulk API 2.0 job for records of one object with distinct external ids, sent once like
    /// a Collections call: records that failed transiently or were not processed, or all of them
    /// when the job itself failed, go back to the runtime as transient.
    func loadInBulk(_ messages: [ContractMessage<CRMUpsert>], alerts: inout [OutgoingMessage]) async -> [(Int, Result<[OutgoingMessage], StageFailure>)] {
        var outcomes: [(Int, Result<[OutgoingMessage], StageFailure>)] = []
        while true {
            await waitWhileOverBudget(alerts: &alerts)
            let first = messages[0].envelope.payload
            do {
                let job = try await client.bulkUpsert(object: first.object, externalIdField: first.externalIdField,
                                                      records: messages.map(\.envelope.payload))
                for (position, message) in messages.enumerated() {
                    guard let answer = job.outcomes[message.envelope.payload.externalId] else {
                        outcomes.append((position, .failure(.transient("sf.bulk.unprocessed", "the bulk job did not process this record"))))
                        continue
                    }
                    if let decided = try decide(message, answer) {
                        outcomes.append((position, decided))
                    } else {
                        let codes = answer.errors.map(\.code)
                        outcomes.append((position, .failure(.transient("sf.\(codes.first ?? "transient")", codes.joined(separator: ", ")))))
                    }
                }
            } catch SalesforceError.limitExceeded(let message) {
                await pause(reason: message, alerts: &alerts)
                continue
            } catch SalesforceError.concurrencyLimitExceeded(let message) {
                if await backOffForConcurrency(message) { continue }
                outcomes = messages.indices.map { ($0, .failure(.transient("sf.concurrency", message))) }
            } catch SalesforceError.bulkJobEnded(let end) {
                outcomes = self.outcomes(of: end, for: messages)
            } catch {
                logger.warning("bulk job failed; its records go back for the runtime's retry", metadata: ["billsync.error": "\(error)"])
                let failure = StageFailure.transient("sf.bulk", "the bulk job failed: \(error)")
                outcomes = messages.indices.map { ($0, .failure(failure)) }
            }
            return outcomes
        }
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
    /// from the consumer meanwhile; the group membership stays.
    func pause(reason: String, alerts: inout [OutgoingMessage]) async {
        logger.error("loader paused: Salesforce API limit", metadata: ["billsync.reason": "\(reason)"])
        pausedGauge.record(1)
        if let alert = try? alert(reason: reason) {
            if let announce { await announce(alert) } else { alerts.append(alert) }
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
        pausedGauge.record(0)
        logger.notice("loader resumed", metadata: ["billsync.usage": "\(client.budget.usage.used)/\(client.budget.usage.limit)"])
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
