import BillsyncMapping
import BillsyncExtractor
import BillsyncKafka
import BillsyncSandbox
import BillsyncTopics
import Foundation
import Logging

/// A large billing export through the extractor executable, as it runs in production: the file
/// streamed row by row, mapped by the shipped source mapping, validated against the raw
/// contracts and published to the broker. Prints rows per second and the extractor process's
/// peak resident memory, whose target is 64 MB whatever the file's size; and, for where the time
/// goes, the rows per second of reading and mapping alone (no contracts, no broker) in this process.
public struct ExtractorBenchmark: Sendable {
    public var connection: KafkaConnection
    public var extractorExecutable: String
    public var sourceMapping: URL
    public var rows = 1_000_000
    /// Only the in-process read-and-map figure (for a profiler), no extractor process.
    public var readOnly = false
    public var logger: Logger

    public init(connection: KafkaConnection, extractorExecutable: String, sourceMapping: URL, logger: Logger) {
        self.connection = connection
        self.extractorExecutable = extractorExecutable
        self.sourceMapping = sourceMapping
        self.logger = logger
    }

    public func run() async throws -> BenchmarkReport {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("bench-extractor-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: work) }
        var options = SampleDataGenerator.Options(accounts: rows)
        options.readingsPerAccount = 0
        options.badRowShare = 0.01
        let summary = try SampleDataGenerator(options: options).writeCSV(to: work.appendingPathComponent("generated"))
        let drop = work.appendingPathComponent("drop")
        try FileManager.default.createDirectory(at: drop, withIntermediateDirectories: true)
        let file = drop.appendingPathComponent("billing_export.csv")
        try FileManager.default.moveItem(at: work.appendingPathComponent("generated/billing_export.csv"), to: file)
        let bytes = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0

        let parsing = try readAndMap(file)
        if readOnly {
            return BenchmarkReport(benchmark: "extractor (read and map only)", settings: ["rows": String(summary.accountRows)], comparisons: [],
                                   figures: [BenchmarkFigure(name: "read and map only: rows/s", value: parsing, unit: "rows/s")])
        }
        let extraction = try await extract(drop: drop, rows: summary.accountRows)
        return BenchmarkReport(
            benchmark: "extractor", settings: ["rows": String(summary.accountRows), "file MB": String(format: "%.0f", Double(bytes) / 1_048_576),
                                               "mapping": sourceMapping.lastPathComponent, "partitions": "4"],
            comparisons: [],
            figures: [
                BenchmarkFigure(name: "extractor: rows/s (file → broker acknowledged)", value: extraction.rowsPerSecond, unit: "rows/s"),
                BenchmarkFigure(name: "extractor: records published/s", value: extraction.recordsPerSecond, unit: "records/s"),
                BenchmarkFigure(name: "extractor: peak RSS", value: extraction.peakMegabytes, unit: "MB", target: 64, lowerIsBetter: true),
                BenchmarkFigure(name: "read and map only: rows/s", value: parsing, unit: "rows/s"),
            ])
    }

    /// Rows per second of decoding, parsing and mapping alone.
    func readAndMap(_ file: URL) throws -> Double {
        let document = try SourceMappingDocument(contentsOf: sourceMapping)
        guard let source = document.source(forFile: file.lastPathComponent) else { throw BenchmarkFailure(description: "no source reads \(file.lastPathComponent)") }
        let started = ContinuousClock.now
        var reader = try SourceFileReader(url: file, name: file.lastPathComponent, source: source)
        var count = 0
        while try reader.next() != nil { count += 1 }
        return Double(count) / Self.seconds(ContinuousClock.now - started)
    }

    struct Extraction {
        let rowsPerSecond: Double
        let recordsPerSecond: Double
        let peakMegabytes: Double
    }

    func extract(drop: URL, rows: Int) async throws -> Extraction {
        let prefix = "bench-extractor-\(UUID().uuidString.prefix(6).lowercased())"
        let admin = try KafkaAdmin(connection: connection, logger: logger)
        try await admin.createTopics(TopicCatalog(partitions: 4, prefix: prefix).specifications)
        // A schedule that does not end the process after its pass, so its peak memory can be read.
        let started = ContinuousClock.now
        let extractor = try BenchmarkWorker(executable: extractorExecutable, arguments: [
            "--csv-dir", drop.path, "--schedule", "every 24h", "--sources", sourceMapping.path, "--settle-seconds", "0",
        ], connection: connection, topicPrefix: prefix)
        var finished: ContinuousClock.Instant?
        var published = 0.0
        let deadline = ContinuousClock.now.advanced(by: .seconds(1_800))
        while ContinuousClock.now < deadline, extractor.isRunning {
            try await Task.sleep(for: .milliseconds(200))
            guard let metrics = await extractor.metrics() else { continue }
            if (metrics["billsync_extractor_runs_total"] ?? 0) >= 1 {
                finished = .now
                published = metrics["billsync_extractor_records_total"] ?? 0
                break
            }
        }
        let peak = extractor.peakResidentMegabytes
        extractor.stop()
        guard let finished else { throw BenchmarkFailure(description: "the extractor did not finish its pass") }
        let seconds = Self.seconds(finished - started)
        return Extraction(rowsPerSecond: Double(rows) / seconds, recordsPerSecond: published / seconds, peakMegabytes: peak)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
