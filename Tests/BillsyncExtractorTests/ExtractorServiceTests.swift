import BillsyncContracts
import BillsyncExtractor
import BillsyncKafka
import BillsyncTestSupport
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
        try Data(csv.utf8).write(to: drop.appendingPathComponent("monday.csv"))
        let contracts = TestRepository.contracts

        func service() throws -> (ExtractorService, KafkaProducer, KafkaCheckpointStore) {
            let producer = try TestKafka.producer()
            let checkpoints = try KafkaCheckpointStore(connection: TestKafka.connection, topic: "\(prefix).checkpoints", logger: TestKafka.logger)
            let extraction = CSVDropExtraction(folder: CSVDropFolder(directory: drop), sourceName: "drop", contracts: contracts, topicPrefix: prefix)
            return (ExtractorService(extraction: extraction, schedule: .once, producer: producer, checkpoints: checkpoints,
                                     reportsTopic: "\(prefix).reports", logger: TestKafka.logger), producer, checkpoints)
        }
        let (first, producer, checkpoints) = try service()
        try await first.run()
        await producer.shutdown()
        await checkpoints.close()

        // The same content dropped again after a restart: the checkpoint says it was read.
        try Data(csv.utf8).write(to: drop.appendingPathComponent("monday-copy.csv"))
        let (second, secondProducer, secondCheckpoints) = try service()
        try await second.run()
        await secondProducer.shutdown()
        await secondCheckpoints.close()

        let accounts = try await TestKafka.read("\(prefix).raw.account", partitions: 1, count: 3, timeout: .seconds(5))
        #expect(accounts.count == 1)
        let reports = try await TestKafka.read("\(prefix).reports", partitions: 1, count: 2)
        let first_ = try contracts.decode(reports[0].value ?? [], as: SyncReport.self).payload
        let second_ = try contracts.decode(reports[1].value ?? [], as: SyncReport.self).payload
        #expect(first_.counts == SyncReport.Counts(read: 2, published: 2, rejected: 1))
        #expect(second_.counts == SyncReport.Counts(read: 0, published: 0, rejected: 0))
        #expect(first_.stage == "extractor" && first_.source == "drop")
    }
}
