import ArgumentParser
import BillsyncBenchmarks
import BillsyncKafka
import BillsyncSandbox
import Foundation
import Logging

@main
struct BillsyncBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billsync-bench",
        abstract: "Benchmarks that print figures (never timed tests).",
        subcommands: [Kafka.self, Transformer.self, Loader.self, Extractor.self]
    )
}

/// What every benchmark does around its measurement.
enum BenchSetup {
    /// Checks librdkafka, sets up logging (warnings only: the figures go to standard output) and
    /// the broker connection from KAFKA_BROKERS.
    static func start() throws -> (Logger, KafkaConnection) {
        try Librdkafka.requireSupportedVersion()
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "billsync.bench")
        logger.logLevel = .warning
        return (logger, KafkaConnection.fromEnvironment(ProcessInfo.processInfo.environment, clientID: "billsync-bench"))
    }

    /// Waits for every Kafka client to close, then prints the report as a table or JSON.
    static func finish(_ report: BenchmarkReport, json: Bool, afterClose: () async -> Void = {}) async throws {
        await KafkaClients.waitUntilClosed()
        await afterClose()
        print(json ? try report.json() : report.table())
    }
}

struct Kafka: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Produce and consume throughput of billsync's librdkafka binding against librdkafka's rdkafka_performance."
    )

    @Option(help: "Messages per measurement.") var messages = 500_000
    @Option(help: "Bytes per message.") var size = 300
    @Option(help: "Measurements per side; the best counts.") var repetitions = 4
    @Option(help: "Path of rdkafka_performance.") var tool = "/usr/local/lib/billsync/bin/rdkafka_performance"
    @Flag(help: "Print JSON (with the targets) instead of a table.") var json = false

    func run() async throws {
        let (logger, connection) = try BenchSetup.start()
        var benchmark = KafkaBindingBenchmark(
            connection: connection,
            tool: RdkafkaPerformanceTool(executable: tool),
            logger: logger
        )
        benchmark.messages = messages
        benchmark.messageBytes = size
        benchmark.repetitions = repetitions
        let report = try await benchmark.run()
        // Topics go only after every client closed (librdkafka 2.8 crashes on deleted known topics).
        try await BenchSetup.finish(report, json: json, afterClose: { await KafkaBindingBenchmark.deleteTopics() })
    }
}

struct Transformer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The billsync-transformer process against a raw pipe process and a Python stage doing the same work: records/s, ratios, peak memory."
    )

    @Option(help: "Raw messages to seed (accounts, bills and premises, a third each).") var records = 60_000
    @Option(help: "Rounds; each runs every contender once, the order rotating.") var rounds = 3
    @Option(help: "Python with confluent-kafka, fastjsonschema and PyYAML.") var python = ProcessInfo.processInfo.environment["BILLSYNC_PYTHON"] ?? "/usr/local/lib/billsync/python/bin/python"
    @Option(help: "Where billsync-transformer, billsync-passthrough and billsync-extractor are (default: next to this one).") var binDirectory: String?
    @Flag(help: "Print JSON (with the targets) instead of a table.") var json = false
    @Option(help: "Run only billsync-transformer, once, under this command (a profiler), and print no figures.") var profileUnder: String?

    func run() async throws {
        let (logger, connection) = try BenchSetup.start()
        let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let bin = binDirectory.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let setup = TransformerBenchmark.Setup(binDirectory: bin, python: python, root: root,
                                               brokers: connection.bootstrapServers.joined(separator: ","))
        var benchmark = TransformerBenchmark(connection: connection, setup: setup, logger: logger)
        benchmark.records = records
        benchmark.rounds = max(1, rounds)
        if let profileUnder {
            try await benchmark.profile(under: profileUnder.split(separator: " ").map(String.init))
            return await KafkaClients.waitUntilClosed()
        }
        try await BenchSetup.finish(try await benchmark.run(), json: json)
    }
}

struct Loader: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The loader executable into the Salesforce emulator: Collections and Bulk paths, records/s, API calls per 1,000, memory."
    )

    @Option(help: "Upsert commands per path.") var records = 20_000
    @Option(help: "The billsync-loader executable (default: next to this one).") var loader: String?
    @Flag(help: "Print JSON (with the targets) instead of a table.") var json = false

    func run() async throws {
        let (logger, connection) = try BenchSetup.start()
        let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let executable = loader ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("billsync-loader").path
        var benchmark = LoaderBenchmark(
            connection: connection,
            loaderExecutable: executable,
            org: try SalesforceOrg(contentsOf: root.appendingPathComponent("Deploy/sandbox/salesforce-org.yaml").path), logger: logger)
        benchmark.records = records
        try await BenchSetup.finish(try await benchmark.run(), json: json)
    }
}

struct Extractor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A large export through the extractor executable: rows/s to the broker and the extractor's peak memory (target 64 MB)."
    )

    @Option(help: "Rows in the export.") var rows = 1_000_000
    @Option(help: "The billsync-extractor executable (default: next to this one).") var extractor: String?
    @Option(help: "The source mapping file.") var sources = "Deploy/extractor/sources.yaml"
    @Flag(help: "Only read and map the file in this process (no broker, no extractor process): for profiling.") var readOnly = false
    @Flag(help: "Print JSON (with the targets) instead of a table.") var json = false

    func run() async throws {
        let (logger, connection) = try BenchSetup.start()
        let executable = extractor ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("billsync-extractor").path
        var benchmark = ExtractorBenchmark(connection: connection, extractorExecutable: executable,
                                           sourceMapping: URL(fileURLWithPath: sources), logger: logger)
        benchmark.rows = rows
        benchmark.readOnly = readOnly
        try await BenchSetup.finish(try await benchmark.run(), json: json)
    }
}
