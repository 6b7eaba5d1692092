import BillsyncKafka
import Foundation
import BillsyncOperations
import BillsyncTestSupport
import BillsyncTopics
import Testing

@Suite("The fleet's topics are created with their settings and carry a round trip")
struct TopicCatalogTests {
    @Test("every consuming stage has two retry tiers and a dead-letter topic kept for 30 days")
    func stagesHaveRetryAndDeadLetterTopics() {
        let catalog = TopicCatalog(partitions: 6)
        let byName = Dictionary(uniqueKeysWithValues: catalog.specifications.map { ($0.name, $0) })
        for stage in TopicCatalog.stages {
            #expect(byName["billsync.\(stage).retry.1"]?.partitions == 6)
            #expect(byName["billsync.\(stage).retry.2"] != nil)
            #expect(byName["billsync.\(stage).dlq"]?.configs["retention.ms"] == String(30 * 86_400_000))
        }
        #expect(byName["billsync.checkpoints"]?.configs["cleanup.policy"] == "compact")
        #expect(byName.count == catalog.specifications.count, "topic names are unique")
    }

    @Test("no source file outside the catalog spells a topic name")
    func topicNamesComeFromTheCatalog() throws {
        // What a hand-typed topic name looks like: a prefix and one of the catalog's suffixes.
        let spellings = [".raw.", ".crm.upserts", ".crm.results", ".dlq\"", ".retry.1", ".retry.2", ".checkpoints\"", ".alerts\"",
                         ".reports\"", ".selfcheck\"", ".passthrough.out\""]
        let sources = TestRepository.root.appendingPathComponent("Sources")
        let catalogTarget = sources.appendingPathComponent("BillsyncTopics").path
        var offenders: [String] = []
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        for file in files where file.pathExtension == "swift" && !file.path.hasPrefix(catalogTarget) {
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            for (number, line) in lines.enumerated() {
                let code = line.components(separatedBy: "//").first ?? ""
                if spellings.contains(where: { code.contains("\"") && code.contains($0) }) {
                    offenders.append("\(file.lastPathComponent):\(number + 1): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        #expect(offenders.isEmpty, "topic names spelled outside BillsyncTopics:\n\(offenders.joined(separator: "\n"))")
    }

    @Test("the catalog is created on the broker, and creating it again changes nothing")
    func catalogIsCreatedIdempotently() async throws {
        let catalog = TopicCatalog(partitions: 2, prefix: TestKafka.uniqueName("fleet"))
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        try await admin.createTopics(catalog.specifications)
        try await admin.createTopics(catalog.specifications)
        let topics = try await admin.listTopics().filter { $0.name.hasPrefix(catalog.prefix + ".") }
        #expect(topics.count == catalog.specifications.count)
        #expect(topics.first { $0.name == catalog.upsertCommands }?.partitions.count == 2)
        try await admin.deleteTopics(topics.map(\.name))
        let deleted = try await eventually { try await admin.listTopics().allSatisfy { !$0.name.hasPrefix(catalog.prefix + ".") } }
        #expect(deleted)
    }

    @Test("the round-trip check receives every message it sent, tombstones included")
    func roundTripCheckSucceeds() async throws {
        let topic = try await TestKafka.createTopics("check", partitions: 2)[0]
        let check = RoundTripCheck(connection: TestKafka.connection, topic: topic, messages: 50, logger: TestKafka.logger)
        let result = try await check.run()
        #expect(result.sent == 50)
        #expect(result.received == 50)
        #expect(result.mismatched.isEmpty)
    }
}
