import ArgumentParser
import BillsyncAlerter
import BillsyncRuntime
import BillsyncTopics
import Foundation
import Logging

/// The alerter worker: watches dead letters, results, lag and runs; tells ops what broke, once,
/// on the log, the alerts topic, and the webhook, Slack, PagerDuty and email channels configured
/// by BILLSYNC_ALERT_* variables (URLs and keys from the environment or `<NAME>_FILE`, never
/// arguments); writes a sync report after every extraction run and daily.
@main
struct Alerter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billsync-alerter",
        abstract: "Tell ops what broke, once, with what to do; and a sync report after every run."
    )

    @Option(help: "A YAML configuration file for the worker (BILLSYNC_CONFIG).") var config: String?
    @Option(help: "The alert rules (YAML; BILLSYNC_ALERT_RULES). Every setting has a default.") var rules: String?
    @Flag(help: "Print the effective configuration, secrets masked, and exit.") var printConfig = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let catalog = TopicCatalog(environment: environment)
        var configuration = WorkerConfiguration(stage: .alerter, catalog: catalog)
        let settings: AlerterSettings
        do {
            try configuration.load(file: config ?? environment["BILLSYNC_CONFIG"], environment: environment)
            settings = try AlerterSettings(environment: environment, rulesFile: rules)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        } catch {
            throw ValidationError("\(error)")
        }
        if printConfig {
            print(configuration.printable + "\n" + settings.printable)
            return
        }
        WorkerLogging.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        try await AlerterWorker.run(configuration: configuration, settings: settings, catalog: catalog, environment: environment,
                                    logger: Logger(label: "billsync.alerter"))
    }
}
