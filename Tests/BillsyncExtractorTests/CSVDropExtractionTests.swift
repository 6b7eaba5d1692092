import BillsyncMapping
import BillsyncContracts
@testable import BillsyncExtractor
import BillsyncKafka
import BillsyncSandbox
import BillsyncTestSupport
import Foundation
import Testing

@Suite("A CSV drop is published to the raw topics, bad rows to the dead-letter topic, and each file is read once")
struct CSVDropExtractionTests {

    @Test("a generated export with 10 % bad rows: every good row published, exactly the listed bad rows dead-lettered")
    func generatedExport() async throws {
        let prefix = TestKafka.uniqueName("x")
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        let topics = ["\(prefix).raw.account", "\(prefix).raw.bill", "\(prefix).raw.premise", "\(prefix).extractor.dlq"]
        try await admin.createTopics(topics.map { KafkaTopicSpecification(name: $0, partitions: 2) })
        let drop = FileManager.default.temporaryDirectory.appendingPathComponent("drop-\(UUID().uuidString)")
        var options = SampleDataGenerator.Options(accounts: 300)
        options.badRowShare = 0.1
        let summary = try SampleDataGenerator(options: options).writeCSV(to: drop)
        try FileManager.default.removeItem(at: drop.appendingPathComponent("meter_readings.csv"))
        try FileManager.default.removeItem(at: drop.appendingPathComponent("tariffs.csv"))
        try FileManager.default.removeItem(at: drop.appendingPathComponent("product_catalog.csv"))
        let contracts = TestRepository.contracts
        let extraction = CSVDropExtraction(folder: CSVDropFolder(directory: drop), mappings: try SourceMappingDocument(contentsOf: TestRepository.sourceMappingFile), sourceName: "nightly-export", contracts: contracts, topicPrefix: prefix)
        let producer = try TestKafka.producer()

        let first = try await extraction.run(processed: [], producer: producer, logger: TestKafka.logger)
        let rejectedExpected = summary.anomalies.filter { $0.file == "billing_export.csv" && $0.expected == .rejected && $0.kind != .badNMIChecksum }
        #expect(first.counts.read == summary.accountRows)
        #expect(first.counts.rejected == rejectedExpected.count)
        #expect(first.counts.files == 1)
        #expect(first.done.count == 1)

        let accounts = try await TestKafka.read(topics[0], partitions: 2, count: summary.accountRows - rejectedExpected.count)
        #expect(accounts.count == summary.accountRows - rejectedExpected.count)
        let decoded = try accounts.map { try contracts.decode($0.value ?? [], as: BillingAccount.self) }
        #expect(decoded.allSatisfy { $0.payload.customerId.count == 10 && $0.payload.customerId.hasPrefix("0000") })
        #expect(decoded.allSatisfy { $0.source.name == "nightly-export" && $0.source.system == .csvDrop })
        let letters = try await TestKafka.read(topics[3], partitions: 2, count: rejectedExpected.count)
        let lines = Set(letters.compactMap { $0.headers.first { $0.name == "billsync.origin.line" }?.value.map { Int(String(decoding: $0, as: UTF8.self))! } })
        #expect(lines == Set(rejectedExpected.map(\.line)))
        #expect(letters.allSatisfy { $0.headers.contains { $0.name == "billsync.origin.column" } })

        // Read once: the file moved to processed/; the same content dropped again is not read again.
        #expect(FileManager.default.fileExists(atPath: drop.appendingPathComponent("processed/billing_export.csv").path))
        try FileManager.default.copyItem(at: drop.appendingPathComponent("processed/billing_export.csv"),
                                         to: drop.appendingPathComponent("again.csv"))
        let second = try await extraction.run(processed: Set(first.done), producer: producer, logger: TestKafka.logger)
        #expect(second.counts.read == 0)
        await producer.shutdown()
    }

    @Test("a generated meter-reading export is published to the reading topic, each message naming its file and line")
    func generatedReadings() async throws {
        let prefix = TestKafka.uniqueName("m")
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        let topic = "\(prefix).raw.meter-reading"
        try await admin.createTopics([KafkaTopicSpecification(name: topic, partitions: 2),
                                      KafkaTopicSpecification(name: "\(prefix).extractor.dlq", partitions: 1)])
        let drop = FileManager.default.temporaryDirectory.appendingPathComponent("drop-\(UUID().uuidString)")
        let summary = try SampleDataGenerator(options: SampleDataGenerator.Options(accounts: 50)).writeCSV(to: drop)
        for other in ["billing_export.csv", "tariffs.csv", "product_catalog.csv"] { try FileManager.default.removeItem(at: drop.appendingPathComponent(other)) }
        let extraction = CSVDropExtraction(folder: CSVDropFolder(directory: drop), mappings: try SourceMappingDocument(contentsOf: TestRepository.sourceMappingFile), sourceName: "meters", contracts: TestRepository.contracts,
                                           topicPrefix: prefix)
        let producer = try TestKafka.producer()

        let run = try await extraction.run(processed: [], producer: producer, logger: TestKafka.logger)
        // A negative reading is a business rule's to refuse, not the shape's: every row is published.
        #expect(run.counts.read == summary.readingRows)
        #expect(run.counts.published == summary.readingRows)
        let messages = try await TestKafka.read(topic, partitions: 2, count: summary.readingRows)
        #expect(messages.count == summary.readingRows)
        let readings = try messages.map { try TestRepository.contracts.decode($0.value ?? [], as: BillingMeterReading.self) }
        #expect(readings.allSatisfy { NationalMeteringIdentifier.isWellFormed($0.payload.nmi) && $0.businessKey == $0.payload.nmi })
        let lines = Set(messages.compactMap { $0.headers.last(named: StageHeaders.originLine).flatMap(Int.init) })
        #expect(lines == Set(2...(summary.readingRows + 1)))
        #expect(messages.allSatisfy { $0.headers.last(named: StageHeaders.originFile) == "meter_readings.csv" })
        await producer.shutdown()
    }

    @Test("a file without the required columns goes to failed/ with its reason, and nothing is published")
    func unreadableFile() async throws {
        let drop = FileManager.default.temporaryDirectory.appendingPathComponent("drop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: drop, withIntermediateDirectories: true)
        try Data("AccountID,Amount\nA,1\n".utf8).write(to: drop.appendingPathComponent("billing_export_broken.csv"))
        let contracts = TestRepository.contracts
        let extraction = CSVDropExtraction(folder: CSVDropFolder(directory: drop), mappings: try SourceMappingDocument(contentsOf: TestRepository.sourceMappingFile), sourceName: "drop", contracts: contracts,
                                           topicPrefix: TestKafka.uniqueName("y"))
        let producer = try TestKafka.producer()
        let run = try await extraction.run(processed: [], producer: producer, logger: TestKafka.logger)
        #expect(run.counts.failedFiles == 1 && run.counts.published == 0)
        let reason = try String(contentsOf: drop.appendingPathComponent("failed/billing_export_broken.csv.reason"), encoding: .utf8)
        #expect(reason.contains("the header has no CustomerID column"))
        await producer.shutdown()
    }

    @Test("a row that maps but breaks the raw contract (a 300-character name) is dead-lettered and the run goes on")
    func contractBreakingRow() async throws {
        let prefix = TestKafka.uniqueName("z")
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        try await admin.createTopics(["raw.account", "extractor.dlq"].map { KafkaTopicSpecification(name: "\(prefix).\($0)", partitions: 1) })
        let drop = FileManager.default.temporaryDirectory.appendingPathComponent("drop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: drop, withIntermediateDirectories: true)
        try Data("CustomerID,Name\n0000000001,\(String(repeating: "N", count: 300))\n0000000002,Two\n".utf8)
            .write(to: drop.appendingPathComponent("billing_export_names.csv"))
        let extraction = CSVDropExtraction(folder: CSVDropFolder(directory: drop), mappings: try SourceMappingDocument(contentsOf: TestRepository.sourceMappingFile), sourceName: "drop", contracts: TestRepository.contracts,
                                           topicPrefix: prefix)
        let producer = try TestKafka.producer()
        let run = try await extraction.run(processed: [], producer: producer, logger: TestKafka.logger)
        await producer.shutdown()
        #expect(run.counts.rejected == 1 && run.counts.published == 1 && run.counts.files == 1)
        let letter = try #require(try await TestKafka.read("\(prefix).extractor.dlq", partitions: 1, count: 1).first)
        #expect(letter.headers.first { $0.name == "billsync.origin.line" }?.value == Array("2".utf8))
        #expect(letter.headers.first { $0.name == "billsync.error.code" }?.value == Array("schema.payload.maxLength".utf8))
        // The dead letter holds the row a person must fix, as the file had it, and names its column.
        #expect(letter.value == Array("0000000001,\(String(repeating: "N", count: 300))".utf8))
        #expect(letter.headers.last(named: StageHeaders.originRow) == "0000000001,\(String(repeating: "N", count: 300))")
        #expect(letter.headers.last(named: StageHeaders.originColumn) == "2")
    }
}
