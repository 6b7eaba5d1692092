import BillsyncMapping
import BillsyncContracts
import BillsyncCSV
@testable import BillsyncExtractor
import BillsyncJSON
import BillsyncKafka
import BillsyncSandbox
import BillsyncTestSupport
import Foundation
import Testing

/// What reading a file yields, line by line: the records, or only the fact of a refusal (a
/// refusal's wording names the dialect's own column).
enum LineOutcome: Equatable {
    case records([ExportRecord])
    case refused
}

func outcomes(of directory: URL, mappings: SourceMappingDocument) throws -> [String: [Int: LineOutcome]] {
    var result: [String: [Int: LineOutcome]] = [:]
    for file in ["billing_export.csv", "meter_readings.csv", "tariffs.csv", "product_catalog.csv"] {
        let source = try #require(mappings.source(forFile: file))
        var reader = try SourceFileReader(url: directory.appendingPathComponent(file), name: file, source: source)
        var lines: [Int: LineOutcome] = [:]
        while let row = try reader.next() {
            switch row {
            case let .records(records, raw): lines[raw.line] = .records(records)
            case let .refused(rejection, _): lines[rejection.line] = .refused
            }
        }
        result[file] = lines
    }
    return result
}

@Suite("Any export dialect, read through its source mapping, yields the same canonical records")
struct DialectTests {
    static let variants: [(String, @Sendable (inout ExportDialect) -> Void, @Sendable (inout SourceMappingDocument.FileFormat) -> Void)] = [
        ("legacy-windows as shipped", { _ in }, { _ in }),
        ("legacy-windows in UTF-16", { $0.encoding = .utf16 }, { $0.encoding = .utf16 }),
        ("legacy-windows in ISO-8859-1 with tabs", { $0.encoding = .iso88591; $0.delimiter = 0x09 }, { $0.encoding = .iso88591; $0.delimiter = 0x09 }),
        ("legacy-windows in UTF-8 with pipes and LF", { $0.encoding = .utf8; $0.delimiter = UInt8(ascii: "|"); $0.lineEnd = "\n" },
         { $0.encoding = .utf8; $0.delimiter = UInt8(ascii: "|") }),
    ]

    @Test("for several seeds and every variant of the legacy dialect, the records equal the standard export's", arguments: [7, 99, 2026] as [UInt64])
    func sameRecords(seed: UInt64) throws {
        var options = SampleDataGenerator.Options(accounts: 300)
        options.seed = seed
        options.badRowShare = 0.1
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("dialects-\(UUID().uuidString)")
        let standardDirectory = base.appendingPathComponent("standard")
        _ = try SampleDataGenerator(options: options).writeCSV(to: standardDirectory)
        let expected = try outcomes(of: standardDirectory, mappings: SourceMappingDocument(contentsOf: TestRepository.sourceMappingFile))
        #expect(expected["billing_export.csv"]?.values.contains(.refused) == true)
        #expect(expected.values.map(\.count).reduce(0, +) > 900)
        for (name, dialectChange, formatChange) in Self.variants {
            var dialect = ExportDialect.legacyWindows
            dialectChange(&dialect)
            var mappings = try SourceMappingDocument(contentsOf: TestRepository.legacySourceMappingFile)
            for index in mappings.sources.indices { formatChange(&mappings.sources[index].format) }
            let directory = base.appendingPathComponent(name.replacingOccurrences(of: " ", with: "-"))
            _ = try SampleDataGenerator(options: options).writeCSV(to: directory, dialect: dialect)
            let read = try outcomes(of: directory, mappings: mappings)
            for file in expected.keys.sorted() {
                let mismatched = expected[file, default: [:]].filter { read[file]?[$0.key] != $0.value }.keys.sorted()
                #expect(mismatched.isEmpty, "\(name), \(file): lines \(mismatched.prefix(5)) differ, e.g. \(mismatched.first.map { "\(String(describing: read[file]?[$0]))" } ?? "")")
                #expect(read[file]?.count == expected[file]?.count, "\(name), \(file)")
            }
        }
    }

    @Test("the legacy dialect over the broker: exactly the standard's raw records, and each refused row dead-lettered as the file had it")
    func legacyOverTheBroker() async throws {
        let prefix = TestKafka.uniqueName("dialect")
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        let entities = ["account", "bill", "premise", "meter-reading", "tariff", "product"]
        try await admin.createTopics((entities.map { "\(prefix).raw.\($0)" } + ["\(prefix).extractor.dlq"]).map { KafkaTopicSpecification(name: $0, partitions: 1) })
        var options = SampleDataGenerator.Options(accounts: 150)
        options.badRowShare = 0.1
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("legacy-\(UUID().uuidString)")
        _ = try SampleDataGenerator(options: options).writeCSV(to: base.appendingPathComponent("standard"))
        let expected = try outcomes(of: base.appendingPathComponent("standard"), mappings: SourceMappingDocument(contentsOf: TestRepository.sourceMappingFile))
        let drop = base.appendingPathComponent("drop")
        _ = try SampleDataGenerator(options: options).writeCSV(to: drop, dialect: .legacyWindows)
        try FileManager.default.removeItem(at: drop.appendingPathComponent("anomalies.json"))
        // Every row as the file has it, by file and line, to compare the dead letters with.
        var rows: [String: [Int: [UInt8]]] = [:]
        for file in expected.keys {
            var reader = CSVStreamReader(source: InMemoryBytes([UInt8](try Data(contentsOf: drop.appendingPathComponent(file)))),
                                             delimiter: UInt8(ascii: ";"), skippingUTF8BOM: false)
            while let next = reader.next() { if case let .success(row) = next { rows[file, default: [:]][row.line] = row.bytes } }
        }

        let extraction = CSVDropExtraction(folder: CSVDropFolder(directory: drop), mappings: try SourceMappingDocument(contentsOf: TestRepository.legacySourceMappingFile),
                                           sourceName: "legacy", contracts: TestRepository.contracts, topicPrefix: prefix)
        let producer = try TestKafka.producer()
        let run = try await extraction.run(processed: [], producer: producer, logger: TestKafka.logger)
        await producer.shutdown()
        #expect(run.counts.files == 4 && run.counts.failedFiles == 0)

        let expectedRecords: [ExportRecord] = expected.values.flatMap(\.values).flatMap { outcome -> [ExportRecord] in
            if case let .records(records) = outcome { records } else { [] }
        }
        let refused = expected.flatMap { file, lines in lines.filter { $0.value == .refused }.map { (file, $0.key) } }
        #expect(run.counts.published == expectedRecords.count && run.counts.rejected == refused.count)
        for entity in entities {
            let wanted = expectedRecords.filter { $0.entity == entity }
            let messages = try await TestKafka.read("\(prefix).raw.\(entity)", partitions: 1, count: wanted.count)
            let payloads = try messages.map { try TestRepository.contracts.decode($0.value ?? [], as: AnyBillingRecord.self).payload.fields }
            #expect(payloads.count == wanted.count && Set(payloads.map { $0.serialized() }) == Set(wanted.map { $0.payload.serialized() }), "\(entity)")
        }
        let letters = try await TestKafka.read("\(prefix).extractor.dlq", partitions: 1, count: refused.count)
        #expect(letters.count == refused.count)
        for letter in letters {
            let file = try #require(letter.headers.last(named: StageHeaders.originFile))
            let line = try #require(letter.headers.last(named: StageHeaders.originLine).flatMap(Int.init))
            #expect(letter.value == rows[file]?[line], "\(file) line \(line)")
            #expect(letter.headers.last(named: StageHeaders.originColumn).flatMap(Int.init) ?? 0 > 0 || letter.headers.last(named: StageHeaders.errorCode)?.hasPrefix("schema") == true)
        }
    }
}
