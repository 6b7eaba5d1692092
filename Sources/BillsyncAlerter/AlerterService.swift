import BillsyncContracts
import BillsyncKafka
import BillsyncOperations
import BillsyncRuntime
import BillsyncTopics
import Foundation
import Logging
import ServiceLifecycle

/// The alerter worker's driver. First it takes back its state (the state topic) and the tables
/// it follows (heartbeats, silences, operator activity) to their ends, so its first round judges
/// with everything a previous process knew. Then, until SIGTERM: its stage (dead letters,
/// results, run reports → the engine), the follower of those tables, the round loop (rules →
/// notifications → channels) and, apart from it so a slow read of the fleet never delays a
/// page, the run accounting loop (discrepancies and reports).
public final class AlerterService: Service, Sendable {
    /// Writes a run's report; returns where its HTML page is. `final` says whether the run's
    /// counts added up (the reconciliation with the CRM is done only then: it costs API calls).
    public typealias Reporter = @Sendable (_ ledger: SyncLedger, _ facts: FleetFacts, _ run: AlerterObservations.RunCheck,
                                           _ apiCalls: Int?, _ final: Bool) async throws -> String?

    let engine: AlerterEngine
    let runtime: StageRuntime<AlerterHandler>
    let connection: KafkaConnection
    let catalog: TopicCatalog
    let contracts: MessageContracts
    let producer: KafkaProducer
    let accounting: RunAccounting?
    let reporter: Reporter?
    let clock: WallClock
    let logger: Logger
    /// Whether the rounds run by themselves; a test turns them off and calls `evaluateOnce`.
    let runsRounds: Bool

    public init(engine: AlerterEngine, runtime: StageRuntime<AlerterHandler>, connection: KafkaConnection, catalog: TopicCatalog,
                contracts: MessageContracts, producer: KafkaProducer, accounting: RunAccounting?, reporter: Reporter?,
                clock: WallClock, logger: Logger, runsRounds: Bool = true) {
        self.engine = engine
        self.runtime = runtime
        self.connection = connection
        self.catalog = catalog
        self.contracts = contracts
        self.producer = producer
        self.accounting = accounting
        self.reporter = reporter
        self.clock = clock
        self.logger = logger
        self.runsRounds = runsRounds
    }

    public func run() async throws {
        try await restore()
        let tables = self.tables
        let groupID = "\(catalog.prefix)-alerter-tables"
        let ends = try await tables.catchUp(connection: connection, groupID: groupID, logger: logger)
        let follower = try tables.follower(from: ends, connection: connection, groupID: groupID, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await follower.run() }
            group.addTask { try await tables.follow(follower) }
            if runsRounds {
                group.addTask { await cancelWhenGracefulShutdown { await self.every { await self.round() } } }
                group.addTask { await cancelWhenGracefulShutdown { await self.every { await self.checkDueRuns() } } }
            }
            // The stage ends on SIGTERM after committing what it finished; the rest follows it.
            try await self.runtime.run()
            follower.triggerShutdown()
            group.cancelAll()
            try await group.waitForAll()
        }
        // A last round: what was evaluated and not yet sent gets one more chance, and the state is written.
        if runsRounds { await write(await engine.deliverPending()) }
    }

    /// The latest record per key of the state topic (a tombstone deletes), read to its end.
    func restore() async throws {
        let state = CompactedTable(topic: catalog.alerterState, follows: false) { [contracts, engine] messages in
            let records = messages.compactMap { message -> (key: String, state: AlertState?)? in
                guard let key = message.keyString else { return nil }
                guard let value = message.value else { return (key, nil) }
                return (key, try? contracts.decode(value, as: AlertState.self).payload)
            }
            await engine.restore(records)
        }
        _ = try await state.catchUp(connection: connection, groupID: "\(catalog.prefix)-alerter-restore", logger: logger)
    }

    /// Heartbeats, silences and activities: read to their ends before the first round, then
    /// followed, every record as it comes.
    var tables: CompactedTable {
        CompactedTable(topics: [catalog.workers, catalog.silences, catalog.operatorActivity], follows: true) { [self] messages in
            for message in messages { await take(message) }
        }
    }

    func take(_ message: KafkaConsumerMessage) async {
        guard let value = message.value else { return }  // a tombstone: a key compacted away
        if message.topic == catalog.workers, let status = try? contracts.decode(value, as: WorkerStatus.self) {
            await engine.heartbeat(status.payload)
        } else if message.topic == catalog.silences, let silence = try? contracts.decode(value, as: Silence.self) {
            await engine.silence(silence.payload)
        } else if message.topic == catalog.operatorActivity, let activity = try? contracts.decode(value, as: OperatorActivity.self) {
            await engine.activity(activity.payload)
        } else {
            logger.warning("a record on \(message.topic) is not what the topic carries; skipped", metadata: [
                "billsync.offset": "\(message.partition)/\(message.offset)",
            ])
        }
    }

    /// Runs `work` now and then every `lifecycle.evaluationInterval` on the clock, until cancelled.
    func every(_ work: () async -> Void) async {
        let interval = engine.rules.lifecycle.evaluationInterval
        while !Task.isCancelled {
            await work()
            do { try await clock.sleep(for: interval) } catch { return }
        }
    }

    /// The rules, then the deliveries, then the state they changed.
    func round() async {
        let (_, state) = await engine.evaluate()
        await write(state)
        await write(await engine.deliverPending())
    }

    /// One run accounting pass and one round, in order: what a test calls after stepping its clock.
    public func evaluateOnce() async {
        await checkDueRuns()
        await round()
    }

    /// Accounts for every run that is due: its discrepancies (none for the daily report), and its
    /// report, written again at each check until every record reached its end (or the run is given up on),
    /// so the folder always holds the latest word and the final one says so in the log.
    func checkDueRuns() async {
        guard let accounting else { return }
        let giveUpAfter = engine.rules.discrepancy.giveUpAfter.timeInterval
        for (key, run) in await engine.dueRuns() {
            do {
                let (ledger, facts) = try await accounting.ledger(of: run)
                let everySource = run.source == AlerterObservations.RunCheck.everySource
                let discrepancies = everySource ? [] : RunAccounting.discrepancies(ledger, run: run, now: clock.now)
                // Final once every record reached its end (none still retrying either), or given up on.
                let final = (discrepancies.isEmpty && ledger.isClosed) || clock.now.timeIntervalSince(run.finishedAt) >= giveUpAfter
                var path: String?
                if let reporter {
                    path = try await reporter(ledger, facts, run, await engine.salesforceAPIUsage, final)
                    if let path {
                        logger.info("sync report written", metadata: [
                            "billsync.report": "\(path)", "billsync.source": "\(run.source)", "billsync.final": "\(final)",
                            "billsync.discrepancies": "\(discrepancies.count)",
                        ])
                    }
                }
                await engine.runChecked(key, discrepancies: discrepancies, pending: RunAccounting.pending(ledger, run: run), reportPath: path,
                                        final: final)
            } catch {
                logger.error("a run's accounting failed; tried again after the settle time", metadata: [
                    "billsync.run": "\(run.runId)", "error": "\(error)",
                ])
                await engine.runFailed(key)
            }
        }
    }

    /// State records go out through the worker's producer (a deleted key as a tombstone, so
    /// compaction drops it); records that could not be written are written again next round.
    func write(_ records: [AlertState]) async {
        guard !records.isEmpty else { return }
        do {
            let messages = try records.map { record -> KafkaProducerMessage in
                guard record.data != nil else {
                    return KafkaProducerMessage(topic: catalog.alerterState, key: Array(record.key.utf8), value: nil)
                }
                let outgoing = try AlerterState.message(record, topic: catalog.alerterState, contracts: contracts)
                return KafkaProducerMessage(topic: outgoing.topic, key: Array(outgoing.key.utf8), value: outgoing.value)
            }
            let reports = try await producer.sendAll(messages)
            let failed = zip(records, reports).filter { !$0.1.isDelivered }.map(\.0)
            if !failed.isEmpty {
                logger.error("alerter state not written; written again next round", metadata: ["billsync.records": "\(failed.count)"])
                await engine.notWritten(failed)
            }
        } catch {
            logger.error("alerter state not written; written again next round", metadata: ["error": "\(error)"])
            await engine.notWritten(records)
        }
    }
}
