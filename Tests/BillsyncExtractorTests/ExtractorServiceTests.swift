import BillsyncMapping
import BillsyncContracts
import BillsyncExtractor
import BillsyncKafka
import BillsyncTestSupport
import BillsyncTopics
import ServiceLifecycleTestKit
import Foundation
import Testing

@Suite("The extractor checkpoints what the broker acknowledged, reports each run, and skips what it read before a restart")
struct ExtractorServiceTests {

    @Test("a file read before a restart is not read again; the sync report counts the run")
    func restartSkipsReadFiles() async throws {
        let prefix = TestKafka.uniqueName("e")
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        try await admin.createTopics([
            KafkaTopicSpecification(name: "\(prefix).raw.account", partitions: 1), KafkaTopicSpecification(name: "\(prefix).raw.bill", partitions: 1),
            KafkaTopicSpecification(name: "\(prefix).raw.premise", partitions: 1), KafkaTopicSpecification(name: "\(prefix).extractor.dlq", partitions: 1),
            .compacted(name: "\(prefix).checkpoints", partitions: 1), KafkaTopicSpecification(name: "\(prefix).reports", partitions: 1),
        ])
        let drop = FileManager.default.temporaryDirectory.appendingPathComponent("drop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: drop, withIntermediateDirectories: true)
        let csv = "CustomerID,Name,AmountDue,LastBillDate\n0000000001,One,10.00,2026-11-01\n0000000002,Two,1.005,2026-11-01\n"
        try Data(csv.utf8).write(to: drop.appendingPathComponent("billing_export_monday.csv"))
        let contracts = TestRepository.contracts

        func service() throws -> (ExtractorService, KafkaProducer, KafkaCheckpointStore) {
            let producer = try TestKafka.producer()
            let checkpoints = try KafkaCheckpointStore(connection: TestKafka.connection, topic: "\(prefix).checkpoints", logger: TestKafka.logger)
            let extraction = CSVDropExtraction(folder: CSVDropFolder(directory: drop), mappings: try SourceMappingDocument(contentsOf: TestRepository.sourceMappingFile), sourceName: "drop", contracts: contracts, topicPrefix: prefix)
            return (ExtractorService(extraction: extraction, schedule: .once, producer: producer, checkpoints: checkpoints,
                                     reportsTopic: "\(prefix).reports", logger: TestKafka.logger), producer, checkpoints)
        }
        let (first, producer, checkpoints) = try service()
        try await first.run()
        await producer.shutdown()
        await checkpoints.close()

        // The same content dropped again after a restart: the checkpoint says it was read.
        try Data(csv.utf8).write(to: drop.appendingPathComponent("billing_export_monday-copy.csv"))
        let (second, secondProducer, secondCheckpoints) = try service()
        try await second.run()
        await secondProducer.shutdown()
        await secondCheckpoints.close()

        let accounts = try await TestKafka.readToEnd("\(prefix).raw.account", partitions: 1)
        #expect(accounts.count == 1)
        let reports = try await TestKafka.read("\(prefix).reports", partitions: 1, count: 2)
        let first_ = try contracts.decode(reports[0].value ?? [], as: SyncReport.self).payload
        let second_ = try contracts.decode(reports[1].value ?? [], as: SyncReport.self).payload
        #expect(first_.counts == SyncReport.Counts(read: 2, published: 2, rejected: 1))
        #expect(second_.counts == SyncReport.Counts(read: 0, published: 0, rejected: 0))
        #expect(first_.stage == "extractor" && first_.source == "drop")
    }

    @Test("a schedule runs again only when its pause has passed on the clock, and a shutdown during the pause ends it at once",
          arguments: [ExtractionSchedule.every(.seconds(4 * 3_600)), .continuously(pause: .seconds(10))])
    func scheduleRunsAgainAfterItsPause(schedule: ExtractionSchedule) async throws {
        let prefix = TestKafka.uniqueName("s")
        let catalog = TopicCatalog(partitions: 1, prefix: prefix)
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        try await admin.createTopics(catalog.specifications)
        let drop = FileManager.default.temporaryDirectory.appendingPathComponent("drop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: drop, withIntermediateDirectories: true)
        try Data("CustomerID,Name\n0000000001,One\n".utf8).write(to: drop.appendingPathComponent("billing_export_monday.csv"))
        let producer = try TestKafka.producer()
        let checkpoints = try KafkaCheckpointStore(connection: TestKafka.connection, topic: catalog.checkpoints, logger: TestKafka.logger)
        let extraction = CSVDropExtraction(folder: CSVDropFolder(directory: drop), mappings: try SourceMappingDocument(contentsOf: TestRepository.sourceMappingFile), sourceName: "drop", contracts: TestRepository.contracts,
                                           topicPrefix: prefix)
        let clock = ManualClock()
        let service = ExtractorService(extraction: extraction, schedule: schedule, producer: producer, checkpoints: checkpoints,
                                       reportsTopic: catalog.reports, logger: TestKafka.logger, clock: clock)
        let pause = try #require(schedule.pause)

        try await testGracefulShutdown { shutdown in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                await clock.waitForSleeps(1)  // the first run is done and the service pauses
                try Data("CustomerID,Name\n0000000002,Two\n".utf8).write(to: drop.appendingPathComponent("billing_export_tuesday.csv"))
                clock.advance(by: pause - .seconds(1))
                // Not due yet: the one pause has not ended, so no second run has started.
                #expect(clock.sleeping == 1 && clock.sleepsStarted == 1)
                clock.advance(by: .seconds(1))
                await clock.waitForSleeps(2)  // the second run is done
                let reports = try await TestKafka.read(catalog.reports, partitions: 1, count: 2)
                let counts = try reports.map { try TestRepository.contracts.decode($0.value ?? [], as: SyncReport.self).payload.counts }
                #expect(counts == [SyncReport.Counts(read: 1, published: 1, rejected: 0), SyncReport.Counts(read: 1, published: 1, rejected: 0)])
                // A shutdown during the pause ends the service without the clock moving.
                shutdown.triggerGracefulShutdown()
                try await group.waitForAll()
                #expect(clock.sleeping == 0)
            }
        }
        await producer.shutdown()
        await checkpoints.close()
    }
}
