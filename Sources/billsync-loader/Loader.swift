import ArgumentParser
import BillsyncContracts
import BillsyncSalesforce
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
        let sinkName = sink ?? environment["BILLSYNC_LOADER_SINK"] ?? SinkChoice.salesforce.rawValue
        guard let choice = SinkChoice(rawValue: sinkName) else {
            throw ValidationError("sink '\(sinkName)' is not one of \(SinkChoice.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        // The billing sink takes meter readings from the raw topic (seed 001: readings into billing).
        var configuration = WorkerConfiguration(stage: choice.stage, catalog: catalog)
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
        do {
            try await LoaderWorker.run(sink: choice, configuration: configuration, settings: settings, catalog: catalog,
                                       environment: environment, logger: logger)
        } catch let error as LoaderWorker.SetupError {
            throw ValidationError(error.description)
        } catch let error as SalesforceError {
            throw ValidationError("\(error)")
        }
    }
}
