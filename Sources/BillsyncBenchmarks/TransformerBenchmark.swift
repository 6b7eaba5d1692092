import BillsyncKafka
import BillsyncSandbox
import BillsyncTopics
import Foundation
import Logging

/// The transformer's throughput, measured fairly against the raw pipe (the limit on this machine)
/// and a Python stage doing the same work.
///
/// The input is seeded once: the sample generator's accounts (with their bills and premises, in
/// the sample's proportions, no deliberately bad rows) through the `billsync-extractor`
/// executable, so the raw messages and their lineage headers are what production reads. Then, for
/// each round, each contender is started as its own process (the order rotates from round to
/// round), reads every raw message from the start in a new consumer group and is timed from its
/// first message consumed to its last output acknowledged, read from its own /metrics every
/// `pollInterval`; its peak resident memory (VmHWM) is read before it is stopped. The median and
/// the best of the rounds are reported, with the ratios against their targets.
public struct TransformerBenchmark: Sendable {
    public var connection: KafkaConnection
    public var records = 60_000
    public var rounds = 3
    public var partitions: Int32 = 4
    public var setup: Setup
    public var logger: Logger
    /// How often a running contender's /metrics is read until its first message is consumed and
    /// again once 90 % of its inputs are answered: the timing's resolution. In between, every
    /// `coarsePollInterval`, so that serving /metrics costs the contender next to nothing.
    public var pollInterval: Duration = .milliseconds(5)
    public var coarsePollInterval: Duration = .milliseconds(200)

    /// The executables, scripts and files the contenders need.
    public struct Setup: Sendable {
        public var binDirectory: URL
        public var extractor: String
        public var python: String
        public var pythonScript: String
        public var schemas: URL
        public var mappingFile: URL
        public var sourceMapping: URL
        public var brokers: String

        public init(binDirectory: URL, python: String, root: URL, brokers: String) {
            self.binDirectory = binDirectory
            extractor = binDirectory.appendingPathComponent("billsync-extractor").path
            self.python = python
            pythonScript = root.appendingPathComponent("scripts/bench_python_transformer.py").path
            schemas = root.appendingPathComponent("Schemas")
            mappingFile = root.appendingPathComponent("Deploy/transformer/mapping.yaml")
            sourceMapping = root.appendingPathComponent("Deploy/extractor/sources.yaml")
            self.brokers = brokers
        }

        func executable(_ name: String) -> String { binDirectory.appendingPathComponent(name).path }
    }

    public static let pipeTarget = 0.5
    public static let pythonTarget = 3.0
    public static let memoryTarget = 64.0

    public init(connection: KafkaConnection, setup: Setup, logger: Logger) {
        self.connection = connection
        self.setup = setup
        self.logger = logger
    }

    public func run() async throws -> BenchmarkReport {
        try await withSeededInput { catalog, scratch, seeded in
            var runs: [ContenderRun] = []
            let contenders = TransformerContender.allCases
            for round in 1...rounds {
                // Who goes first rotates, so no contender always meets a warm (or a busy) broker.
                let order = (0..<contenders.count).map { contenders[($0 + round - 1) % contenders.count] }
                for contender in order {
                    runs.append(try await measure(contender, round: round, records: seeded, catalog: catalog, scratch: scratch))
                }
            }
            return report(runs, seeded: seeded)
        }
    }

    /// Runs only the transformer, once, under `command` (a profiler: `valgrind --tool=callgrind
    /// ...`) over the same seeded input, and stops it once every input is answered, so that the
    /// profiler sees start-up and steady state: how `scripts/link-order.sh` records the functions
    /// a worker runs. No figures: they would be the profiler's.
    public func profile(under command: [String]) async throws {
        try await withSeededInput { catalog, scratch, seeded in
            _ = try await measure(.transformer, round: 1, records: seeded, catalog: catalog, scratch: scratch, under: command)
        }
    }

    /// Creates the topics under a prefix of their own, seeds them and runs `body` over them.
    private func withSeededInput<T>(_ body: (TopicCatalog, URL, Int) async throws -> T) async throws -> T {
        let tag = UUID().uuidString.prefix(6).lowercased()
        let catalog = TopicCatalog(partitions: partitions, prefix: "bench-transformer-\(tag)")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("bench-transformer-\(tag)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let admin = try KafkaAdmin(connection: connection, logger: logger)
        try await admin.createTopics(catalog.specifications + TransformerContender.extraTopics(catalog))
        return try await body(catalog, scratch, try await seed(catalog, scratch: scratch))
    }

    /// Publishes the sample's accounts, bills and premises through the extractor executable;
    /// answers how many raw messages it published.
    func seed(_ catalog: TopicCatalog, scratch: URL) async throws -> Int {
        var options = SampleDataGenerator.Options(accounts: max(1, records / 3))
        options.readingsPerAccount = 0
        options.badRowShare = 0
        _ = try SampleDataGenerator(options: options).writeCSV(to: scratch.appendingPathComponent("generated"))
        let drop = scratch.appendingPathComponent("drop")
        try FileManager.default.createDirectory(at: drop, withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: scratch.appendingPathComponent("generated/billing_export.csv"),
                                         to: drop.appendingPathComponent("billing_export.csv"))
        let extractor = try BenchmarkWorker(executable: setup.extractor, arguments: [
            "--csv-dir", drop.path, "--schedule", "every 24h", "--sources", setup.sourceMapping.path, "--settle-seconds", "0",
        ], connection: connection, topicPrefix: catalog.prefix)
        defer { extractor.stop() }
        let deadline = ContinuousClock.now.advanced(by: .seconds(900))
        while ContinuousClock.now < deadline, extractor.isRunning {
            try await Task.sleep(for: .milliseconds(200))
            guard let metrics = await extractor.metrics() else { continue }
            if (metrics["billsync_extractor_runs_total"] ?? 0) >= 1 {
                let published = Int(metrics["billsync_extractor_records_total"] ?? 0)
                guard published == 3 * options.accounts else {
                    throw BenchmarkFailure(description: "the extractor published \(published) raw messages for \(options.accounts) accounts, not \(3 * options.accounts)")
                }
                return published
            }
        }
        throw BenchmarkFailure(description: "the extractor did not finish publishing the benchmark's input")
    }

    /// Starts the contender (under `command` if one is named), times it from its first message
    /// consumed to its last output acknowledged, reads its peak memory and stops it.
    func measure(_ contender: TransformerContender, round: Int, records: Int, catalog: TopicCatalog, scratch: URL,
                 under command: [String] = []) async throws -> ContenderRun {
        let group = "\(catalog.prefix)-\(contender.rawValue)-\(round)"
        let launch = contender.launch(catalog: catalog, group: group, setup: setup, scratch: scratch, round: round)
        let worker = try BenchmarkWorker(executable: command.first ?? launch.executable,
                                         arguments: command.dropFirst() + (command.isEmpty ? [] : [launch.executable]) + launch.arguments,
                                         connection: connection, topicPrefix: catalog.prefix, environment: launch.environment)
        // A profiler writes what it recorded as the process exits, which takes it a while.
        defer { worker.stop(grace: command.isEmpty ? .seconds(30) : .seconds(600)) }
        let outputs = contender.outputTopics(catalog).map { "topic=\"\($0)\"" }
        var first: ContinuousClock.Instant?
        var cpuAtFirst = 0.0
        var answered = 0
        var deadLetters = 0
        let deadline = ContinuousClock.now.advanced(by: .seconds(600))
        while ContinuousClock.now < deadline, worker.isRunning {
            guard let samples = await worker.metricSamples() else {
                try await Task.sleep(for: pollInterval)
                continue
            }
            let now = ContinuousClock.now
            let consumed = samples.filter { $0.name == "billsync_messages_consumed_total" }.reduce(0) { $0 + $1.value }
            if first == nil, consumed > 0 {
                first = now
                cpuAtFirst = worker.cpuSeconds
            }
            let produced = samples.filter { $0.name == "billsync_messages_produced_total" }
            answered = Int(produced.filter { sample in outputs.contains { sample.labels.contains($0) } }.reduce(0) { $0 + $1.value })
            deadLetters = Int(produced.filter { $0.labels.contains(outputs[1]) }.reduce(0) { $0 + $1.value })
            if answered >= records, let first {
                let seconds = Self.seconds(now - first)
                return ContenderRun(contender: contender, round: round, records: records, seconds: seconds, deadLetters: deadLetters,
                                    peakMegabytes: worker.peakResidentMegabytes, cpuSeconds: worker.cpuSeconds - cpuAtFirst)
            }
            try await Task.sleep(for: first == nil || answered * 10 >= records * 9 ? pollInterval : coarsePollInterval)
        }
        throw BenchmarkFailure(description: "\(contender.title) answered \(answered) of \(records) inputs in round \(round)"
            + (worker.isRunning ? "" : " and exited"))
    }

    func report(_ runs: [ContenderRun], seeded: Int) -> BenchmarkReport {
        func rates(_ contender: TransformerContender) -> [Double] { runs.filter { $0.contender == contender }.map(\.recordsPerSecond).sorted() }
        func medianOf(_ values: [Double]) -> Double {
            values.isEmpty ? 0 : values.count % 2 == 1 ? values[values.count / 2] : (values[values.count / 2 - 1] + values[values.count / 2]) / 2
        }
        func figure(_ rate: Double) -> ThroughputFigure { ThroughputFigure(messages: seeded, bytes: 0, seconds: rate > 0 ? Double(seeded) / rate : 0) }
        let median = Dictionary(uniqueKeysWithValues: TransformerContender.allCases.map { ($0, medianOf(rates($0))) })
        let best = Dictionary(uniqueKeysWithValues: TransformerContender.allCases.map { ($0, rates($0).last ?? 0) })
        var figures: [BenchmarkFigure] = []
        for contender in TransformerContender.allCases {
            let peak = runs.filter { $0.contender == contender }.map(\.peakMegabytes).max() ?? 0
            figures.append(BenchmarkFigure(name: "\(contender.rawValue): records/s, median", value: median[contender]!, unit: "records/s"))
            figures.append(BenchmarkFigure(name: "\(contender.rawValue): records/s, best", value: best[contender]!, unit: "records/s"))
            figures.append(BenchmarkFigure(name: "\(contender.rawValue): peak RSS (largest of the rounds)", value: peak, unit: "MB",
                                           target: contender == .transformer ? Self.memoryTarget : nil, lowerIsBetter: true))
            // What the machine pays per record whatever else shares it (the broker, the others):
            // the process's own CPU time, all threads, over the timed span.
            let cpu = medianOf(runs.filter { $0.contender == contender }.map { $0.cpuSeconds * 1e6 / Double($0.records) }.sorted())
            figures.append(BenchmarkFigure(name: "\(contender.rawValue): CPU µs per record, median", value: cpu, unit: "µs", lowerIsBetter: true))
        }
        figures.append(BenchmarkFigure(name: "transformer / pipe, best", value: best[.pipe]! > 0 ? best[.transformer]! / best[.pipe]! : 0, unit: "×"))
        figures.append(BenchmarkFigure(name: "transformer / Python, best", value: best[.python]! > 0 ? best[.transformer]! / best[.python]! : 0, unit: "×"))
        let cpuPerRecord = Dictionary(uniqueKeysWithValues: TransformerContender.allCases.map { contender in
            (contender, medianOf(runs.filter { $0.contender == contender }.map { $0.cpuSeconds / Double($0.records) }.sorted()))
        })
        if cpuPerRecord[.transformer]! > 0 {
            figures.append(BenchmarkFigure(name: "Python CPU per record / transformer's", value: cpuPerRecord[.python]! / cpuPerRecord[.transformer]!, unit: "×"))
        }
        for run in runs {
            figures.append(BenchmarkFigure(name: "round \(run.round): \(run.contender.rawValue)", value: run.recordsPerSecond.rounded(), unit: "records/s"))
        }
        let deadLetters = runs.map(\.deadLetters).max() ?? 0
        return BenchmarkReport(
            benchmark: "transformer",
            settings: ["records": String(seeded), "input": "billing-account, billing-bill, billing-premise (1:1:1)", "partitions": String(partitions),
                       "rounds": String(rounds), "timed": "first message consumed → last output acknowledged",
                       "producer": "acks=all, idempotence, lz4, linger 5 ms", "chunk": "500", "dead letters": String(deadLetters)],
            comparisons: [
                BenchmarkComparison(name: "transformer vs raw pipe (medians)", measured: figure(median[.transformer]!), reference: figure(median[.pipe]!),
                                    referenceName: "billsync-passthrough --raw", target: Self.pipeTarget),
                BenchmarkComparison(name: "transformer vs Python (medians)", measured: figure(median[.transformer]!), reference: figure(median[.python]!),
                                    referenceName: "Python stage, same work", target: Self.pythonTarget),
            ],
            figures: figures)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
