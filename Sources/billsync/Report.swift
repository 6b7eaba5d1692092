import ArgumentParser
import BillsyncKafka
import BillsyncOperations
import BillsyncTopics
import BillsyncTransformer
import Foundation

/// The sync report: where every record of a run ended, read from the fleet's topics and the
/// stages' committed offsets into one `FleetLedger`, each message once. `--wait` follows a run in
/// progress until every record is final, and gives up once no stage committed anything for
/// `--settle-timeout`.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Account for every record of a run: loaded, unchanged, dead-lettered (grouped by reason), or unaccounted for.",
        discussion: """
            Exits 0 when the accounting closes (every record final, every stage caught up, every expectation met), \
            1 when it does not, and with --wait 3 when no stage committed anything for --settle-timeout seconds before it closed. \
            With --anomalies, the expectations not met are summarised by kind and listed in full in --unmet-list.
            """
    )

    @Option(name: .customLong("source"), help: "Only records of this extraction source (repeatable; default: every source).")
    var sources: [String] = []
    @Option(help: "The sample generator's anomalies.json: check that each deliberate bad row ended as it says.") var anomalies: String?
    @Option(help: "Where to write every expectation not met, one a line (default: next to --anomalies, .unmet.txt).") var unmetList: String?
    @Option(help: "The transformer's mapping file (which object each record type maps to).") var mapping = "Deploy/transformer/mapping.yaml"
    @Option(help: "The stages that run, comma separated.") var stages = "transformer,rollup,loader,loader-billing"
    @Option(help: "Prefix of the fleet's topics (BILLSYNC_TOPIC_PREFIX).") var prefix = ProcessInfo.processInfo.environment["BILLSYNC_TOPIC_PREFIX"] ?? "billsync"
    @Flag(help: "Follow the run, one progress line per stage, until every record is final.") var wait = false
    @Option(help: "With --wait: give up after this many seconds in which no stage committed anything.") var settleTimeout = 180.0
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
        var ledger = FleetLedger(FleetLedger.Configuration(objects: objects, transformedTypes: running.contains(.transformer) ? transformed : [],
                                                           billingTypes: running.contains(.loaderBilling) ? uploaded : [], sources: sourceFilter))
        ledger.watch(expectations)
        let unmetURL = unmetList.map { URL(fileURLWithPath: $0) }
            ?? anomalies.map { URL(fileURLWithPath: $0).deletingPathExtension().appendingPathExtension("unmet.txt") }
        let (text, exit) = try await withKafkaClients {
            try await FleetTopicReader.reading(connection: environmentConnection, catalog: catalog, stages: running, ledger: ledger,
                                               logger: logger) { reader in
                guard wait else {
                    // The second refresh counts what the first saw at its end (the ledger closes a
                    // record seen at its end twice), so the report lists only what is still open.
                    try await reader.refresh()
                    try await reader.refresh()
                    let ledger = reader.ledger.ledger(sources: sourceFilter)
                    var report = SyncReportText(ledger: ledger, apiCalls: apiCalls, elapsedSeconds: elapsed)
                    report.laggingStages = reader.lag()
                    report.expectations = RecordExpectation.check(expectations, in: ledger)
                    if let unmetURL, report.expectations.contains(where: { $0.1 != nil }) {
                        try ExpectationSummary(report.expectations).writeUnmet(to: unmetURL)
                        report.unmetList = unmetURL.path
                    }
                    return (report.rendered, report.succeeded ? 0 : 1)
                }
                var display = ProgressDisplay()
                var last: [StageProgress] = []
                let clock = ContinuousClock()
                var lastCommit = clock.now
                while true {
                    let passStarted = clock.now
                    // "Progress" is a stage committing: records queued behind a backlog are late, not stuck.
                    if try await reader.refresh() { lastCommit = clock.now }
                    let ledger = reader.ledger.ledger(sources: sourceFilter)
                    let lag = reader.lag()
                    let progress = StageProgress.of(ledger, lag: lag)
                    display.show(progress.map(\.line), changed: progress != last)
                    last = progress
                    let settled = ledger.isClosed && lag.values.allSatisfy { $0 == 0 } && ledger.recordsExtracted > 0
                    if settled { return ("", 0) }
                    if clock.now - lastCommit > .seconds(settleTimeout) {
                        return ("no stage committed anything for \(Int(settleTimeout)) s; \(ledger.unfinished) records not final yet", 3)
                    }
                    // The progress lines' refresh rate: every second, or less often while a large
                    // backlog makes a pass costly (nine times the pass, so the observer takes about
                    // a tenth of a core), but at least every 20 s: the end of the run is told soon.
                    try await Task.sleep(for: min(.seconds(20), max(.seconds(1), (clock.now - passStarted) * 9)))
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
