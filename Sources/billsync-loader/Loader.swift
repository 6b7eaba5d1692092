import ArgumentParser
import BillsyncContracts
import BillsyncKafka
import BillsyncLoader
import BillsyncRuntime
import BillsyncTopics
import Foundation
import Logging

/// The loader worker: CRM upsert commands in, records upserted into Salesforce (or a PostgreSQL
/// replica), every outcome published to the results topic.
/// Configuration: `--config FILE` (or BILLSYNC_CONFIG) and BILLSYNC_* variables for the runtime;
/// Salesforce from SALESFORCE_LOGIN_URL, SALESFORCE_CLIENT_ID and SALESFORCE_PRIVATE_KEY[_FILE] with
/// SALESFORCE_USERNAME (JWT bearer) or SALESFORCE_CLIENT_SECRET[_FILE] (client credentials);
/// PostgreSQL from BILLSYNC_LOADER_POSTGRES_URL[_FILE]. Secrets never come from arguments.
@main
struct Loader: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billsync-loader",
        abstract: "Upsert CRM commands into Salesforce or PostgreSQL, idempotently and within API limits."
    )

    @Option(help: "A YAML configuration file (BILLSYNC_CONFIG).") var config: String?
    @Option(help: "salesforce (default), postgres or billing (BILLSYNC_LOADER_SINK).") var sink: String?
    @Flag(help: "Print the effective configuration, secrets masked, and exit.") var printConfig = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let catalog = TopicCatalog(environment: environment)
        let sinkName = sink ?? environment["BILLSYNC_LOADER_SINK"] ?? "salesforce"
        let stages: [String: Stage] = ["salesforce": .loader, "postgres": .loaderPostgres, "billing": .loaderBilling]
        guard let stage = stages[sinkName] else { throw ValidationError("sink '\(sinkName)' is not salesforce, postgres or billing") }
        // The billing sink takes meter readings from the raw topic (seed 001: readings into billing).
        var configuration = WorkerConfiguration(stage: stage, catalog: catalog)
        do {
            try configuration.load(file: config ?? environment["BILLSYNC_CONFIG"], environment: environment)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let settings: LoaderSettings
        do {
            settings = try LoaderSettings(environment: environment)
        } catch {
            throw ValidationError("\(error)")
        }
        if printConfig {
            print(configuration.printable + "\nloader:\n  sink: \(sinkName)\n" + settings.printable)
            return
        }
        WorkerLogging.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        let logger = Logger(label: "billsync.loader")
        let results = catalog.loadResults
        if sinkName == "billing" {
            guard let url = settings.billingURL else { throw ValidationError("the billing sink needs BILLSYNC_LOADER_BILLING_URL") }
            guard let token = try settings.billingToken(environment) else {
                throw ValidationError("the billing sink needs BILLSYNC_LOADER_BILLING_TOKEN or BILLSYNC_LOADER_BILLING_TOKEN_FILE")
            }
            try await StageWorker.run(configuration: configuration, logger: logger) { contracts in
                BillingUploadSinkHandler(baseURL: url, token: token, resultsTopic: results, contracts: contracts)
            }
            return
        }
        if sinkName == "postgres" {
            guard let url = try settings.postgresURL(environment) else {
                throw ValidationError("the postgres sink needs BILLSYNC_LOADER_POSTGRES_URL or BILLSYNC_LOADER_POSTGRES_URL_FILE")
            }
            try await StageWorker.run(configuration: configuration, logger: logger) { contracts in
                try PostgresSinkHandler(url: url, resultsTopic: results, contracts: contracts)
            }
            return
        }
        let credentials: SalesforceCredentials
        do {
            credentials = try SalesforceCredentials.fromEnvironment(environment)
        } catch {
            throw ValidationError("\(error)")
        }
        let session = try SalesforceSession(loginURL: settings.loginURL, credentials: credentials, audience: settings.audience)
        let client = SalesforceClient(session: session, budget: APIBudget(share: settings.budgetShare))
        // Alerts go out when they happen, not with the batch they interrupt.
        let alerts = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: configuration.connection), logger: logger)
        // Enough in flight for full 200-record calls per object, and for Bulk API jobs when a
        // backlog (a backfill, a replay) is waiting.
        configuration.runtime.maximumInFlight = max(configuration.runtime.maximumInFlight, 10_000)
        configuration.runtime.chunkLinger = .milliseconds(200)
        try await StageWorker.run(configuration: configuration, logger: logger) { contracts in
            var handler = SalesforceSinkHandler(client: client, resultsTopic: results, alertsTopic: catalog.alerts,
                                                contracts: contracts, logger: logger)
            handler.probeInterval = settings.probeInterval
            handler.bulkThreshold = settings.bulkThreshold
            handler.announce = { alert in
                _ = try? await alerts.send(KafkaProducerMessage(topic: alert.topic, key: Array(alert.key.utf8), value: alert.value, headers: alert.headers))
            }
            return handler
        }
        await alerts.shutdown()
    }
}
