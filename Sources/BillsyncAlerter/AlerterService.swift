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
/// page, the run accounting loop (discrepancies and reports), which follows the fleet's topics
/// with one reader for the alerter's life.
public final class AlerterService: Service, Sendable {
    /// Writes a run's report; returns where its HTML page is. `final` says whether the run's
    /// counts added up (the reconciliation with the CRM is done only then: it costs API calls).
    public typealias Reporter = @Sendable (_ ledger: SyncLedger, _ run: AlerterObservations.RunCheck,
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
    /// `evaluateOnce`'s requests for an accounting pass, answered by the accounting task (which
    /// owns the fleet's reader) once the pass is done.
    let passes: AsyncStream<CheckedContinuation<Void, Never>>
    let passRequests: AsyncStream<CheckedContinuation<Void, Never>>.Continuation

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
        (passes, passRequests) = AsyncStream.makeStream()
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
            }
            if let accounting {
                group.addTask { await cancelWhenGracefulShutdown { await self.followRuns(accounting) } }
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

    /// One run accounting pass and one round, in order: what a test calls after stepping its clock
    /// (with the rounds off, the accounting task waits for these calls instead of the clock).
    public func evaluateOnce() async {
        if accounting != nil {
            await withCheckedContinuation { pass in
                // The accounting task has ended (the service stopped): nothing to wait for.
                if case .terminated = passRequests.yield(pass) { pass.resume() }
            }
        }
        await round()
    }

    /// The run accounting: one reader and ledger of the fleet's topics for the alerter's life, so
    /// each message is read once and only what is in flight is held. Each pass refreshes them and
    /// checks the runs that are due. A reader that cannot be opened is opened again at the next
    /// pass; the runs due meanwhile are tried again after the settle time.
    func followRuns(_ accounting: RunAccounting) async {
        defer { passRequests.finish() }
        while !Task.isCancelled {
            do {
                try await accounting.following { reader in
                    await eachPass { await checkDueRuns(&reader) }
                }
                return
            } catch {
                guard !Task.isCancelled else { return }
                logger.error("the fleet's topics could not be read for the run accounting; tried again at the next pass", metadata: [
                    "error": "\(error)",
                ])
                var failed = false
                await eachPass {
                    for (key, _) in await engine.dueRuns() { await engine.runFailed(key) }
                    failed = true
                } until: { failed }
            }
        }
    }

    /// Runs `work` at each accounting pass, until cancelled or `done`: every
    /// `lifecycle.evaluationInterval` on the clock, or at each `evaluateOnce` when the test runs the rounds.
    /// A pass made costly by a large backlog (the ledger's open records) spaces the next one out
    /// to nine times its own length (the run accounting then takes about a tenth of a core), but
    /// no more than a minute, so a run's final report follows its last record soon.
    func eachPass(_ work: () async -> Void, until done: () -> Bool = { false }) async {
        if runsRounds {
            let interval = engine.rules.lifecycle.evaluationInterval
            let elapsed = ContinuousClock()
            while !Task.isCancelled && !done() {
                let started = elapsed.now
                await work()
                let paced = min(max(interval, .seconds(60)), (elapsed.now - started) * 9)
                do { try await clock.sleep(for: max(interval, paced)) } catch { return }
            }
        } else {
            for await pass in passes {
                await work()
                pass.resume()
                if done() { return }
            }
        }
    }

    /// Refreshes the fleet's ledger (every pass, so it never holds more than a pass's worth of
    /// records in flight) and accounts for every run that is due: its discrepancies (none for
    /// the daily report), and its report, written again at each check until every record reached
    /// its end (or the run is given up on), so the folder always holds the latest word and the
    /// final one says so in the log.
    func checkDueRuns(_ reader: inout FleetTopicReader) async {
        let giveUpAfter = engine.rules.discrepancy.giveUpAfter.timeInterval
        let due = await engine.dueRuns()
        do {
            try await reader.refresh()
        } catch {
            logger.error("the fleet's topics could not be read to their end; the due runs are tried again after the settle time", metadata: [
                "error": "\(error)",
            ])
            for (key, _) in due { await engine.runFailed(key) }
            return
        }
        for (key, run) in due {
            do {
                let ledger = RunAccounting.ledger(of: run, in: reader.ledger)
                let everySource = run.source == AlerterObservations.RunCheck.everySource
                let discrepancies = everySource ? [] : RunAccounting.discrepancies(ledger, run: run, now: clock.now,
                                                                                          stalledAfter: engine.rules.lag.stalledAfter)
                // Final once every record reached its end (none still retrying either), or given up on.
                let final = (discrepancies.isEmpty && ledger.isClosed) || clock.now.timeIntervalSince(run.finishedAt) >= giveUpAfter
                var path: String?
                if let reporter {
                    path = try await reporter(ledger, run, await engine.salesforceAPIUsage, final)
                    if let path {
                        logger.info("sync report written", metadata: [
                            "billsync.report": "\(path)", "billsync.source": "\(run.source)", "billsync.final": "\(final)",
                            "billsync.discrepancies": "\(discrepancies.count)",
                        ])
                    }
                }
                await engine.runChecked(key, discrepancies: discrepancies, pending: RunAccounting.progress(ledger), reportPath: path, final: final)
            } catch {
                logger.error("a run's accounting failed; tried again after the settle time", metadata: [
                    "billsync.run": "\(run.runId)", "error": "\(error)",
                ])
                await engine.runFailed(key)
            }
        }
        // What no run still checked can ask for: records older than the oldest due run and the
        // longest a run is checked (plus the daily report's day).
        let oldest = due.map { $0.run.startedAt ?? $0.run.finishedAt }.min() ?? clock.now
        reader.forget(extractedBefore: min(oldest, clock.now.addingTimeInterval(-giveUpAfter - 86_400)).addingTimeInterval(-3_600))
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
