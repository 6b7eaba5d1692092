import BillsyncContracts
import BillsyncKafka
import BillsyncOperations
import BillsyncRuntime
import BillsyncTopics
import Foundation
import Logging
import ServiceLifecycle

/// The alerter worker's driver: takes back its state from the state topic, then runs three
/// things until SIGTERM: its stage (dead letters, results, run reports → the engine), a follower
/// of the compacted topics it keeps whole (heartbeats, silences, operator activity), and the
/// evaluation loop on its clock (rules → notifications → channels; run accounting and reports).
public final class AlerterService: Service, Sendable {
    /// What a run's accounting produces besides its discrepancies: the report's location.
    public typealias Reporter = @Sendable (_ ledger: SyncLedger, _ facts: FleetFacts, _ run: AlerterObservations.RunCheck,
                                           _ apiCalls: Int?) async throws -> String?

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

    public init(engine: AlerterEngine, runtime: StageRuntime<AlerterHandler>, connection: KafkaConnection, catalog: TopicCatalog,
                contracts: MessageContracts, producer: KafkaProducer, accounting: RunAccounting?, reporter: Reporter?,
                clock: WallClock, logger: Logger) {
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
    }

    public func run() async throws {
        try await restore()
        let tables = try tablesConsumer()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await tables.run() }
            group.addTask { try await self.follow(tables) }
            group.addTask { try await cancelWhenGracefulShutdown { await self.evaluatePeriodically() } }
            // The stage ends on SIGTERM after committing what it finished; the rest follows it.
            try await self.runtime.run()
            tables.triggerShutdown()
            group.cancelAll()
            try await group.waitForAll()
        }
        // A last round: what was evaluated and not yet sent gets one more chance, and the state is written.
        await write(await engine.deliverPending())
    }

    /// The latest record per key of the state topic, read to its end before anything else.
    func restore() async throws {
        let snapshot = try await KafkaTopicSnapshot.read(
            [KafkaTopicPartition(topic: catalog.alerterState, partition: 0)], connection: connection,
            groupID: "\(catalog.prefix)-alerter-restore-\(UUID().uuidString.prefix(8))", logger: logger)
        let records = snapshot.messages.compactMap { message -> AlertState? in
            guard let value = message.value else { return nil }
            return try? contracts.decode(value, as: AlertState.self).payload
        }
        await engine.restore(records)
    }

    func tablesConsumer() throws -> KafkaConsumer {
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for topic in [catalog.workers, catalog.silences, catalog.operatorActivity] {
            offsets[KafkaTopicPartition(topic: topic, partition: 0)] = KafkaOffset.beginning
        }
        var configuration = KafkaConsumerConfiguration(
            connection: connection, groupID: "\(catalog.prefix)-alerter-tables-\(UUID().uuidString.prefix(8))", subscription: .partitions(offsets))
        configuration.drainTimeout = .milliseconds(100)
        return try KafkaConsumer(configuration: configuration, logger: logger)
    }

    /// Keeps the compacted tables current: every heartbeat, silence and activity as it comes.
    func follow(_ consumer: KafkaConsumer) async throws {
        for try await message in consumer.messages {
            defer { consumer.markDone([message]) }
            guard let value = message.value else { continue }
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
    }

    func evaluatePeriodically() async {
        let interval = await engine.rules.lifecycle.evaluationInterval
        while !Task.isCancelled {
            await evaluateOnce()
            do { try await clock.sleep(for: interval) } catch { return }
        }
    }

    /// One round: due runs' accounting, the rules, the deliveries. Public for tests that step
    /// a manual clock and want the round that follows.
    public func evaluateOnce() async {
        await checkDueRuns()
        let (_, state) = await engine.evaluate()
        await write(state)
        await write(await engine.deliverPending())
    }

    /// Accounts for every run that is due: its discrepancies (none for the daily report), and its
    /// report, written again at each check until the counts add up, so the folder always holds
    /// the latest word and the final one says so in the log.
    func checkDueRuns() async {
        guard let accounting else { return }
        for (key, run) in await engine.dueRuns() {
            do {
                let everySource = run.source == AlerterObservations.RunCheck.everySource
                let (ledger, facts) = try await accounting.ledger(source: everySource ? nil : run.source)
                let discrepancies = everySource ? [] : RunAccounting.discrepancies(ledger, run: run, now: clock.now)
                let final = discrepancies.isEmpty
                var path: String?
                if let reporter {
                    path = try await reporter(ledger, facts, run, await engine.salesforceAPIUsage)
                    if let path {
                        logger.info("sync report written", metadata: [
                            "billsync.report": "\(path)", "billsync.source": "\(run.source)", "billsync.final": "\(final)",
                        ])
                    }
                }
                await write([await engine.runChecked(key, discrepancies: discrepancies, reportPath: path, final: final)])
            } catch {
                logger.error("a run's accounting failed; tried again next round", metadata: ["billsync.run": "\(run.runId)", "error": "\(error)"])
            }
        }
    }

    /// State records go out through the worker's producer; a record that cannot be written is
    /// logged: the next change of its key writes it whole again.
    func write(_ records: [AlertState]) async {
        guard !records.isEmpty else { return }
        do {
            let messages = try records.map { record -> KafkaProducerMessage in
                let outgoing = try AlerterState.message(record, topic: catalog.alerterState, contracts: contracts)
                return KafkaProducerMessage(topic: outgoing.topic, key: Array(outgoing.key.utf8), value: outgoing.value)
            }
            for report in try await producer.sendAll(messages) where !report.isDelivered {
                logger.error("alerter state not written", metadata: ["error": "\(report.error.map { "\($0)" } ?? "")"])
            }
        } catch {
            logger.error("alerter state not written", metadata: ["error": "\(error)"])
        }
    }
}
