import BillsyncExtractor
import BillsyncKafka
import BillsyncTestSupport
import Foundation
import Testing

@Suite("Checkpoints live in a compacted topic and come back after a restart")
struct KafkaCheckpointStoreTests {
    struct Progress: Codable, Equatable {
        var watermark: String
        var files: [String]
    }

    @Test("the latest checkpoint per source is what a new store loads")
    func latestWins() async throws {
        let topic = TestKafka.uniqueName("checkpoints")
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        try await admin.createTopics([.compacted(name: topic, partitions: 1)])
        let store = try KafkaCheckpointStore(connection: TestKafka.connection, topic: topic, logger: TestKafka.logger)
        #expect(try await store.load(Progress.self).isEmpty)
        try await store.save("extractor/csv-drop", value: Progress(watermark: "", files: ["a1"]))
        try await store.save("extractor/meter-sql", value: Progress(watermark: "2026-11-20 09:00:00+10|5", files: []))
        try await store.save("extractor/csv-drop", value: Progress(watermark: "", files: ["a1", "b2"]))
        await store.close()

        let restarted = try KafkaCheckpointStore(connection: TestKafka.connection, topic: topic, logger: TestKafka.logger)
        let loaded = try await restarted.load(Progress.self)
        #expect(loaded == [
            "extractor/csv-drop": Progress(watermark: "", files: ["a1", "b2"]),
            "extractor/meter-sql": Progress(watermark: "2026-11-20 09:00:00+10|5", files: []),
        ])
        await restarted.close()
    }
}
