import BillsyncContracts
import BillsyncSalesforce
import BillsyncKafka
import BillsyncPostgres
import BillsyncRuntime
import BillsyncTopics
import Logging

/// The loader worker: one sink, chosen by configuration, on the stage runtime. Everything the
/// executable does beyond parsing its arguments.
public enum LoaderWorker {
    /// Why a loader cannot start: a setting the chosen sink needs is missing or wrong.
    public struct SetupError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func run(
        sink choice: SinkChoice, configuration: WorkerConfiguration, settings: LoaderSettings, catalog: TopicCatalog,
        environment: [String: String], logger: Logger
    ) async throws {
        let results = catalog.loadResults
        switch choice {
        case .billing:
            guard let url = settings.billingURL else { throw SetupError(description: "the billing sink needs BILLSYNC_LOADER_BILLING_URL") }
            guard let token = try settings.billingToken(environment) else {
                throw SetupError(description: "the billing sink needs BILLSYNC_LOADER_BILLING_TOKEN or BILLSYNC_LOADER_BILLING_TOKEN_FILE")
            }
            try await StageWorker.run(configuration: configuration, logger: logger) { context in
                var sink = BillingUploadSink(baseURL: url, token: token, resultsTopic: results, contracts: context.contracts)
                sink.http = context.http
                return sink
            }
        case .postgres:
            guard let url = try settings.postgresURL(environment) else {
                throw SetupError(description: "the postgres sink needs BILLSYNC_LOADER_POSTGRES_URL or BILLSYNC_LOADER_POSTGRES_URL_FILE")
            }
            var postgres: PostgresSettings
            do {
                postgres = try PostgresSettings(connectionString: url, environment: environment)
            } catch {
                throw SetupError(description: "the postgres sink's connection string: \(error)")
            }
            postgres.maximumConnections = settings.postgresConnections
            try await StageWorker.run(configuration: configuration, logger: logger) { context in
                let pool = try PostgresPool(settings: postgres, logger: logger)
                let sink = PostgresSink(database: pool, resultsTopic: results, contracts: context.contracts)
                // A wrong address, password or TLS mode stops the worker here, before it joins its group.
                try await sink.prepare()
                let runtime = try StageWorker.makeRuntime(handler: sink, context: context)
                // The pool runs in the worker's service group and closes after the stage drained.
                return WorkerDriver(service: runtime, isReady: { runtime.hasJoinedGroup }, services: [pool])
            }
        case .salesforce:
            let credentials = try SalesforceCredentials.fromEnvironment(environment)
            // Checked before the worker starts: a wrong login URL for the flow is a setup error.
            _ = try SalesforceSession(loginURL: settings.loginURL, credentials: credentials, audience: settings.audience)
            let budget = APIBudget(share: settings.budgetShare)
            var configuration = configuration
            // Enough in flight for full 200-record calls per object, and for Bulk API jobs when
            // a backlog (a backfill, a replay) is waiting; `stage.maxInFlight` sets it otherwise
            // (the loader's memory grows with it: see docs).
            if !configuration.maximumInFlightConfigured { configuration.runtime.maximumInFlight = 10_000 }
            configuration.runtime.chunkLinger = .milliseconds(200)
            // The alerter reads the daily API use from the heartbeat (as Salesforce last counted it).
            configuration.runtime.apiUsage = {
                let usage = budget.usage
                return usage.limit > 0 ? WorkerStatus.APIUsage(used: usage.used, limit: usage.limit) : nil
            }
            try await StageWorker.run(configuration: configuration, logger: logger, makeStage: { context in
                let session = try SalesforceSession(loginURL: settings.loginURL, credentials: credentials, audience: settings.audience,
                                                    http: context.http)
                let client = SalesforceClient(session: session, budget: budget, maximumCallsInFlight: settings.callsInFlight)
                var sink = SalesforceSink(client: client, resultsTopic: results, alertsTopic: catalog.alerts,
                                          contracts: context.contracts, logger: logger)
                sink.probeInterval = settings.probeInterval
                sink.bulkThreshold = settings.bulkThreshold
                sink.announce = announcer(producer: context.producer, logger: logger)
                sink.loadedTopic = catalog.loadedRecords
                // Which records exist, so a change that cannot create its record waits for the one that can.
                return (sink, [sink.knownRecords.table(topic: catalog.loadedRecords, contracts: context.contracts)])
            })
        }
    }

    /// Publishes an alert when it happens (a pause can last hours; the batch it interrupts would
    /// only be written when it ends), through the worker's producer, which the service group
    /// flushes and closes after the stage. A failed send is logged, never dropped silently.
    static func announcer(producer: KafkaProducer, logger: Logger) -> @Sendable (OutgoingMessage) async -> Void {
        { alert in
            do {
                _ = try await producer.send(KafkaProducerMessage(topic: alert.topic, key: Array(alert.key.utf8), value: alert.value,
                                                                 headers: alert.headers))
            } catch {
                logger.error("an alert could not be published; the loader's log is the only record of it", metadata: [
                    "billsync.topic": "\(alert.topic)", "billsync.error": "\(error)",
                ])
            }
        }
    }
}
