import ArgumentParser
import BillsyncKafka
import BillsyncOperations
import BillsyncTopics
import BillsyncTransformer
import Foundation

/// The sync report: where every record of a run ended, read from the fleet's topics and the
/// stages' committed offsets. `--wait` follows a run in progress until every record is final.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Account for every record of a run: loaded, unchanged, dead-lettered (grouped by reason), or unaccounted for.",
        discussion: """
            Exits 0 when the accounting closes (every record final, every stage caught up, every expectation met), \
            1 when it does not, and with --wait 3 when the run stopped making progress before it closed.
            """
    )

    @Option(name: .customLong("source"), help: "Only records of this extraction source (repeatable; default: every source).")
    var sources: [String] = []
    @Option(help: "The sample generator's anomalies.json: check that each deliberate bad row ended as it says.") var anomalies: String?
    @Option(help: "The transformer's mapping file (which object each record type maps to).") var mapping = "Deploy/transformer/mapping.yaml"
    @Option(help: "The stages that run, comma separated.") var stages = "transformer,rollup,loader,loader-billing"
    @Option(help: "Prefix of the fleet's topics (BILLSYNC_TOPIC_PREFIX).") var prefix = ProcessInfo.processInfo.environment["BILLSYNC_TOPIC_PREFIX"] ?? "billsync"
    @Flag(help: "Follow the run, one progress line per stage, until every record is final.") var wait = false
    @Option(help: "With --wait: give up after this many seconds without progress.") var settleTimeout = 180.0
    @Option(help: "Salesforce API calls, as Salesforce counted them, to print with the table.") var apiCalls: Int?
    @Option(help: "The run's elapsed time in seconds, to print with the table.") var elapsed: Double?

    func run() async throws {
        let logger = try startCommand("billsync.report")
        let catalog = TopicCatalog(prefix: prefix)
        let document = try Mapping.load(mapping)
        var objects: [String: String] = [:]
        for object in document.objects where objects[object.source.rawValue] == nil { objects[object.source.rawValue] = object.object }
        let expectations = try anomalies.map { try RecordExpectation.load(anomaliesFile: URL(fileURLWithPath: $0)) } ?? []
        let sourceFilter = sources.isEmpty ? nil : Set(sources)
        let transformed = Set(TopicCatalog.transformerEntities.map(SyncLedger.recordType))
        let uploaded = Set(TopicCatalog.billingUploadEntities.map(SyncLedger.recordType))
        let running = stages.split(separator: ",").map { Stage(String($0).trimmingCharacters(in: .whitespaces)) }
        if let unknown = running.first(where: { !TopicCatalog.stages.contains($0) }) {
            throw ValidationError("--stages: \(unknown) is not a consuming stage (\(TopicCatalog.stages.map(\.rawValue).joined(separator: ", ")))")
        }
        let (text, exit) = try await withKafkaClients {
            try await FleetTopicReader.reading(connection: environmentConnection, catalog: catalog, stages: running, logger: logger) { reader in
                var display = ProgressDisplay()
                var last: [StageProgress] = []
                let clock = ContinuousClock()
                var lastChange = clock.now
                while true {
                    try await reader.refresh()
                    let ledger = SyncLedger(facts: reader.facts, sources: sourceFilter, objects: objects,
                                            transformedTypes: running.contains(.transformer) ? transformed : [],
                                            billingTypes: running.contains(.loaderBilling) ? uploaded : [])
                    let lag = reader.lag()
                    guard wait else {
                        var report = SyncReportText(ledger: ledger, apiCalls: apiCalls, elapsedSeconds: elapsed)
                        report.laggingStages = lag
                        report.expectations = RecordExpectation.check(expectations, in: ledger)
                        return (report.rendered, report.succeeded ? 0 : 1)
                    }
                    let progress = StageProgress.of(reader.facts, ledger: ledger, lag: lag)
                    if progress != last { lastChange = clock.now }
                    display.show(progress.map(\.line), changed: progress != last)
                    last = progress
                    let settled = ledger.isClosed && lag.values.allSatisfy { $0 == 0 } && !ledger.records.isEmpty
                    if settled { return ("", 0) }
                    if clock.now - lastChange > .seconds(settleTimeout) {
                        return ("no progress for \(Int(settleTimeout)) s; \(ledger.open.count) records not final yet", 3)
                    }
                    try await Task.sleep(for: .seconds(1))  // the progress lines' refresh rate
                }
            }
        }
        if !text.isEmpty { print(text) }
        if exit != 0 { throw ExitCode(Int32(exit)) }
    }
}

/// Progress lines that update in place on a terminal, and plain lines (only when something
/// changed, at most every 5 s) when the output is a file or a pipe.
struct ProgressDisplay {
    let isTerminal = isatty(STDOUT_FILENO) == 1
    var shown = 0
    var lastPlain: ContinuousClock.Instant?

    mutating func show(_ lines: [String], changed: Bool) {
        if isTerminal {
            var out = shown > 0 ? "\u{1B}[\(shown)A" : ""
            for line in lines { out += "\u{1B}[2K" + line + "\n" }
            print(out, terminator: "")
            shown = lines.count
        } else {
            let now = ContinuousClock.now
            guard changed, lastPlain.map({ now - $0 >= .seconds(5) }) ?? true else { return }
            lastPlain = now
            print(lines.joined(separator: "\n") + "\n")
        }
        fflush(nil)  // every stream: stdout is not concurrency-safe to name in Swift 6
    }
}
