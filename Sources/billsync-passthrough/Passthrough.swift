import ArgumentParser
import BillsyncRuntime
import BillsyncTopics
import Foundation
import Logging

/// A sample stage on the runtime: reads billing accounts and forwards them unchanged.
/// Configuration: `--config FILE` (or BILLSYNC_CONFIG) and BILLSYNC_* environment variables;
/// the output topic is BILLSYNC_PASSTHROUGH_OUTPUT (default billsync.passthrough.out).
/// With `--raw` (or BILLSYNC_PASSTHROUGH_RAW=1) it forwards every record of its inputs as it is,
/// with no contract check: the raw pipe the transformer benchmark measures the limit with.
@main
struct Passthrough: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billsync-passthrough",
        abstract: "A sample billsync stage that forwards billing accounts to another topic."
    )

    @Option(help: "A YAML configuration file (BILLSYNC_CONFIG).")
    var config: String?

    @Flag(help: "Print the effective configuration, secrets masked, and exit.")
    var printConfig = false

    @Flag(help: "Forward records as they are, without decoding or validating them (BILLSYNC_PASSTHROUGH_RAW=1).")
    var raw = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let catalog = TopicCatalog(environment: ProcessInfo.processInfo.environment)
        var configuration = WorkerConfiguration(stage: Stage("passthrough"), catalog: catalog, inputTopics: [catalog.rawTopic("account")])
        do {
            try configuration.load(file: config ?? environment["BILLSYNC_CONFIG"], environment: environment)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        if printConfig {
            print(configuration.printable)
            return
        }
        WorkerLogging.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        let output = environment["BILLSYNC_PASSTHROUGH_OUTPUT"] ?? catalog.passthroughOutput
        if raw || environment["BILLSYNC_PASSTHROUGH_RAW"] == "1" {
            try await StageWorker.run(configuration: configuration, logger: Logger(label: "billsync.passthrough")) { _ in
                RawForwardHandler(outputTopic: output)
            }
            return
        }
        try await StageWorker.run(configuration: configuration, logger: Logger(label: "billsync.passthrough")) { context in
            PassthroughHandler(outputTopic: output, contracts: context.contracts)
        }
    }
}
