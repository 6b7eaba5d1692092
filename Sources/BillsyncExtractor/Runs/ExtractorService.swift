import BillsyncContracts
import BillsyncKafka
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// The extractor worker: on its schedule, reads each configured source, publishes, checkpoints
/// what the broker acknowledged, and publishes a run summary per source. On SIGTERM it finishes
/// the run in progress (so its checkpoints match what was published; within the worker's
/// `shutdown.timeout`, after which the run is cancelled and repeated from its last checkpoint
/// next time) and stops.
public final class ExtractorService: Service, Sendable {
    let sources: [any ExtractionSource]
    let schedule: ExtractionSchedule
    let producer: KafkaProducer
    let checkpoints: KafkaCheckpointStore
    let reportsTopic: String
    let contracts: MessageContracts
    let logger: Logger
    /// Times the pause between runs; tests pass a clock they advance.
    let clock: any Clock<Duration>

    public init(sources: [any ExtractionSource], schedule: ExtractionSchedule, producer: KafkaProducer,
                checkpoints: KafkaCheckpointStore, reportsTopic: String, contracts: MessageContracts, logger: Logger,
                clock: any Clock<Duration> = ContinuousClock()) {
        self.clock = clock
        self.sources = sources
        self.schedule = schedule
        self.producer = producer
        self.checkpoints = checkpoints
        self.reportsTopic = reportsTopic
        self.contracts = contracts
        self.logger = logger
    }

    public convenience init(extraction: CSVDropExtraction, schedule: ExtractionSchedule, producer: KafkaProducer,
                            checkpoints: KafkaCheckpointStore, reportsTopic: String, logger: Logger,
                            clock: any Clock<Duration> = ContinuousClock()) {
        self.init(sources: [extraction], schedule: schedule, producer: producer, checkpoints: checkpoints,
                  reportsTopic: reportsTopic, contracts: extraction.contracts, logger: logger, clock: clock)
    }

    public func run() async throws {
        while true {
            for source in sources {
                // A stop that came before a run began ends the worker without starting one.
                if Task.isShuttingDownGracefully { return }
                let counts: ExtractionCounts
                do {
                    counts = try await runOnce(source)
                } catch let error as KafkaError where error.kind == .shutdown && Task.isShuttingDownGracefully {
                    // Stopped before it began: its checkpoint reader closes with the worker. The
                    // next start runs it from the same checkpoint. Any other failure is reported.
                    logger.notice("extraction run stopped by the shutdown", metadata: [
                        "billsync.source": "\(source.sourceName)", "billsync.reason": "\(error)",
                    ])
                    return
                }
                logger.info("extraction run finished", metadata: [
                    "billsync.source": "\(source.sourceName)", "billsync.kind": "\(source.kind)", "billsync.read": "\(counts.read)",
                    "billsync.published": "\(counts.published)", "billsync.rejected": "\(counts.rejected)",
                ])
                if Task.isShuttingDownGracefully { return }
            }
            guard let pause = schedule.pause else { return }
            // A shutdown during the pause ends the worker at once; one during a run waits for it.
            do {
                try await cancelWhenGracefulShutdown { [clock] in try await clock.sleep(for: pause) }
            } catch {
                return
            }
            if Task.isShuttingDownGracefully { return }
        }
    }

    /// `/metrics`: records per source and outcome, and when each source last finished a run (a
    /// missed scheduled run shows as a growing age).
    static func record(_ counts: ExtractionCounts, source: String) {
        Counter(label: "billsync_extractor_records_total", dimensions: [("source", source), ("outcome", "published")])
            .increment(by: counts.published)
        Counter(label: "billsync_extractor_records_total", dimensions: [("source", source), ("outcome", "rejected")])
            .increment(by: counts.rejected)
        Counter(label: "billsync_extractor_runs_total", dimensions: [("source", source)]).increment()
        Gauge(label: "billsync_extractor_last_run_timestamp_seconds", dimensions: [("source", source)])
            .record(Date().timeIntervalSince1970)
    }

    /// One pass of one source: publish, then checkpoint what the broker acknowledged, then report.
    public func runOnce<Source: ExtractionSource>(_ source: Source) async throws -> ExtractionCounts {
        let started = Timestamp.now
        let saved = try await checkpoints.load(Source.Checkpoint.self, key: source.checkpointKey)
        let key = source.checkpointKey
        let counts = try await source.run(from: saved, producer: producer, logger: logger) { [checkpoints] reached in
            try await checkpoints.save(key, value: reached)
        }
        let report = SyncReport(stage: "extractor", source: source.sourceName, startedAt: started, finishedAt: .now,
                                status: counts.failedFiles > 0 ? .partial : .succeeded,
                                counts: SyncReport.Counts(read: counts.read, published: counts.published, rejected: counts.rejected))
        let envelope = MessageEnvelope(source: MessageSource(system: .billsync, name: "extractor"), businessKey: "extractor/\(source.sourceName)",
                                       occurredAt: nil, payload: report)
        _ = try await producer.send(KafkaProducerMessage(topic: reportsTopic, key: Array(envelope.businessKey.utf8),
                                                         value: try contracts.encode(envelope)))
        Self.record(counts, source: source.sourceName)
        return counts
    }
}
