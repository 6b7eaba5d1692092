import BillsyncMapping
import BillsyncContracts
import BillsyncCSV
import BillsyncExtractor
import BillsyncKafka
import BillsyncRuntime
import BillsyncSandbox
import BillsyncTestSupport
import BillsyncTransformer
import Foundation
import Testing

@Suite("Extractor → transformer over the broker: generated accounts come out as exactly the expected upserts and dead letters")
struct ExtractToTransformTests {

    @Test("400 accounts with 10 % bad rows")
    func endToEnd() async throws {
        let prefix = TestKafka.uniqueName("pipe")
        let topics = ["raw.account", "raw.bill", "raw.premise", "extractor.dlq", "crm.upserts", "transformer.retry.1", "transformer.retry.2", "transformer.dlq"]
            .map { "\(prefix).\($0)" }
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        try await admin.createTopics(topics.map { KafkaTopicSpecification(name: $0, partitions: 2) })
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("pipe-\(UUID().uuidString)")
        var options = SampleDataGenerator.Options(accounts: 400)
        options.badRowShare = 0.1
        let summary = try SampleDataGenerator(options: options).writeCSV(to: work.appendingPathComponent("generated"))
        let drop = work.appendingPathComponent("drop")
        try FileManager.default.createDirectory(at: drop, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: work.appendingPathComponent("generated/billing_export.csv"), to: drop.appendingPathComponent("billing_export.csv"))
        let contracts = TestRepository.contracts

        // Extract.
        let producer = try TestKafka.producer()
        let extraction = CSVDropExtraction(folder: CSVDropFolder(directory: drop), mappings: try SourceMappingDocument(contentsOf: TestRepository.sourceMappingFile), sourceName: "test", contracts: contracts, topicPrefix: prefix)
        let extracted = try await extraction.run(processed: [], producer: producer, logger: TestKafka.logger)

        // What should come out, from the generator's own list of anomalies.
        let anomalies = summary.anomalies.filter { $0.file == "billing_export.csv" }
        let rejectedByExtractor = anomalies.filter { $0.expected == .rejected && $0.kind != .badNMIChecksum }
        let badNMIs = anomalies.filter { $0.kind == .badNMIChecksum }.count
        let duplicates = anomalies.filter { $0.kind == .duplicatedRow }.count
        let uniqueGoodRows = summary.accountRows - rejectedByExtractor.count - duplicates
        #expect(extracted.counts.rejected == rejectedByExtractor.count)
        // Each row: an Account upsert from the account, another from the bill, a Service_Point__c from the premise.
        let expectedUpserts = 3 * uniqueGoodRows - badNMIs

        // Transform.
        let lookups = work.appendingPathComponent("lookups")
        try FileManager.default.createDirectory(at: lookups, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: work.appendingPathComponent("generated/tariffs.csv"), to: lookups.appendingPathComponent("tariffs.csv"))
        let document = try MappingDocument(yaml: String(contentsOf: TestRepository.mappingFile, encoding: .utf8))
        let handler = TransformerHandler(mapper: try RecordMapper(document: document, lookupDirectory: lookups),
                                         loaded: LoadedRecords(use: .suppression),
                                         outputTopic: topics[4], contracts: contracts)
        var configuration = StageRuntimeConfiguration(stage: "transformer", group: TestKafka.uniqueName("pipe-transformer"),
                                                      inputTopics: Array(topics[0...2]), retryTopics: [topics[5], topics[6]], deadLetterTopic: topics[7])
        configuration.retry.tiers = [.seconds(1), .seconds(1)]
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: configuration.group, topics: Array(topics[0...2]) + [topics[5], topics[6]]),
                                         logger: TestKafka.logger)
        let runtime = StageRuntime(configuration: configuration, handler: handler, contracts: contracts, consumer: consumer,
                                   producer: producer, metrics: StageMetrics(stage: "transformer"), logger: TestKafka.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runtime.run() }
            // Everything extracted was handled and what came of it is on the broker: from here
            // the outcomes are counted on their topics, an extra upsert included.
            let consumed = try await TestKafka.waitUntilConsumed(group: configuration.group, topics: Array(topics[0...2]) + [topics[5], topics[6]],
                                                                 partitions: 2, timeout: .seconds(90))
            #expect(consumed, "the transformer did not get through the extracted records")
            consumer.triggerShutdown()
            try await group.waitForAll()
        }
        await producer.shutdown()
        let upserts = try await TestKafka.readToEnd(topics[4], partitions: 2)
        let letters = try await TestKafka.readToEnd(topics[7], partitions: 2)
        #expect(upserts.count == expectedUpserts, "upserts missing or more than expected")
        #expect(letters.count == badNMIs)
        #expect(letters.allSatisfy { $0.headers.first { $0.name == StageHeaders.errorCode }?.value == Array("rule.nmi-checksum".utf8) })
        // A refusal at the transformer still holds the row as the file had it, and where it was.
        var rows: [Int: [UInt8]] = [:]
        var reader = CSVStreamReader(source: InMemoryBytes([UInt8](try Data(contentsOf: drop.appendingPathComponent("processed/billing_export.csv")))))
        while let next = reader.next() { if case let .success(row) = next { rows[row.line] = row.bytes } }
        for letter in letters {
            let line = try #require(letter.headers.last(named: StageHeaders.originLine).flatMap(Int.init))
            #expect(letter.headers.last(named: StageHeaders.originFile) == "billing_export.csv")
            #expect(letter.headers.first { $0.name == StageHeaders.originRow }?.value == rows[line])
            // Refused for its NMI: the export's 16th column.
            #expect(letter.headers.last(named: StageHeaders.originColumn) == "16")
        }
        // Each upsert knows which column each of its fields came from.
        let accountUpsert = try #require(upserts.first { $0.headers.last(named: StageHeaders.originColumns)?.contains("\"fields.Name\":[4,\"Name\"]") == true })
        #expect(accountUpsert.headers.last(named: StageHeaders.originColumns)?.contains("\"externalId\":[1,\"CustomerID\"]") == true)
        // The upserts carry it on, for a refusal at the loader.
        #expect(upserts.allSatisfy { $0.headers.last(named: StageHeaders.originRow)?.isEmpty == false })
        // Every upsert is valid, keyed by its business key, and money arrived exact.
        let decoded = try upserts.map { try contracts.decode($0.value ?? [], as: CRMUpsert.self) }
        #expect(Set(decoded.map(\.payload.object)) == ["Account", "Service_Point__c"])
        #expect(decoded.filter { $0.payload.fields["Amount_Due__c"] != nil }.count == uniqueGoodRows)
    }
}
