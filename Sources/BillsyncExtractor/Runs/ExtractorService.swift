import BillsyncContracts
import BillsyncKafka
import Foundation
import Logging
import ServiceLifecycle

/// The extractor worker: on its schedule, reads each configured source, publishes, checkpoints
/// what the broker acknowledged, and publishes a run summary. On SIGTERM it finishes the run in
/// progress (so its checkpoint matches what was published) and stops.
public final class ExtractorService: Service, Sendable {
    struct FolderCheckpoint: Codable {
        var files: [String]
    }

    let extraction: CSVDropExtraction
    let schedule: ExtractionSchedule
    let producer: KafkaProducer
    let checkpoints: KafkaCheckpointStore
    let reportsTopic: String
    let logger: Logger

    public init(extraction: CSVDropExtraction, schedule: ExtractionSchedule, producer: KafkaProducer,
                checkpoints: KafkaCheckpointStore, reportsTopic: String, logger: Logger) {
        self.extraction = extraction
        self.schedule = schedule
        self.producer = producer
        self.checkpoints = checkpoints
        self.reportsTopic = reportsTopic
        self.logger = logger
    }

    var checkpointKey: String { "extractor/csv-drop/\(extraction.sourceName)" }

    public func run() async throws {
        var files = Set(try await checkpoints.load(FolderCheckpoint.self)[checkpointKey]?.files ?? [])
        while true {
            let counts = try await runOnce(processed: &files)
            logger.info("extraction run finished", metadata: [
                "billsync.source": "\(extraction.sourceName)", "billsync.read": "\(counts.read)",
                "billsync.published": "\(counts.published)", "billsync.rejected": "\(counts.rejected)",
            ])
            guard let pause = schedule.pause else { return }
            // A shutdown during the pause ends the worker at once; one during a run waits for it.
            do {
                try await gracefulShutdown()
                try await Task.sleep(for: pause)
            } catch {
                return
            }
            if Task.isShuttingDownGracefully { return }
        }
    }

    /// One run: publish, then checkpoint the files the broker acknowledged, then report.
    public func runOnce(processed: inout Set<String>) async throws -> ExtractionCounts {
        let started = Timestamp.now
        let (counts, done) = try await extraction.run(processed: processed, producer: producer, logger: logger)
        processed.formUnion(done)
        if !done.isEmpty { try await checkpoints.save(checkpointKey, value: FolderCheckpoint(files: processed.sorted())) }
        let report = SyncReport(stage: "extractor", source: extraction.sourceName, startedAt: started, finishedAt: .now,
                                status: counts.failedFiles > 0 ? .partial : .succeeded,
                                counts: SyncReport.Counts(read: counts.read, published: counts.published, rejected: counts.rejected))
        let envelope = MessageEnvelope(source: MessageSource(system: .billsync, name: "extractor"), businessKey: "extractor/\(extraction.sourceName)",
                                       occurredAt: nil, payload: report)
        _ = try await producer.send(KafkaProducerMessage(topic: reportsTopic, key: Array(envelope.businessKey.utf8),
                                                         value: try extraction.contracts.encode(envelope)))
        return counts
    }
}
