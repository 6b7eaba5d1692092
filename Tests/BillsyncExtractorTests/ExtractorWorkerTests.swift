import BillsyncKafka
import BillsyncSandbox
import BillsyncTestSupport
import BillsyncTopics
import Foundation
import Testing

@Suite("The extractor runs on the same worker shape as every stage: endpoints, metrics, JSON logs, graceful stop")
struct ExtractorWorkerTests {
    @Test("a running extractor answers /healthz and /readyz, counts what it published in /metrics, logs JSON, and stops on SIGTERM")
    func extractorServesTheWorkerEndpoints() async throws {
        let catalog = TopicCatalog(partitions: 2, prefix: TestKafka.uniqueName("xw"))
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        try await admin.createTopics(catalog.specifications)
        let drop = FileManager.default.temporaryDirectory.appendingPathComponent("drop-\(UUID().uuidString)")
        let summary = try SampleDataGenerator(options: SampleDataGenerator.Options(accounts: 20)).writeCSV(to: drop)
        for other in ["meter_readings.csv", "tariffs.csv", "product_catalog.csv"] { try FileManager.default.removeItem(at: drop.appendingPathComponent(other)) }

        // A schedule that keeps it running after its first pass, as in production.
        let worker = try WorkerProcess(executable: "billsync-extractor", environment: ["BILLSYNC_TOPIC_PREFIX": catalog.prefix,
                                                                                       "BILLSYNC_EXTRACTOR_SOURCES": TestRepository.sourceMappingFile.path,
                                                                                       "BILLSYNC_EXTRACTOR_SETTLE_SECONDS": "0"],
                                       arguments: ["--csv-dir", drop.path, "--schedule", "every 1h", "--source", "drop"])
        let ready = await eventually(timeout: .seconds(30)) { (try? await worker.get("/readyz").status) == 200 }
        #expect(ready, "the extractor never became ready; its log:\n\(worker.log)")
        #expect(try await worker.get("/healthz").status == 200)
        let ran = await eventually(timeout: .seconds(30)) {
            (try? await worker.metric("billsync_extractor_runs_total")) ?? 0 >= 1
        }
        #expect(ran, "no extraction run was counted; its log:\n\(worker.log)")

        let published = Int(try await worker.metric("billsync_extractor_records_total", matching: ["outcome=\"published\""]))
        let rejected = Int(try await worker.metric("billsync_extractor_records_total", matching: ["outcome=\"rejected\""]))
        #expect(published + rejected > 0)
        var arrived = 0
        for entity in ["account", "bill", "premise"] {
            let total = try await TestKafka.readToEnd(catalog.rawTopic(entity), partitions: 2)
            arrived += total.count
        }
        #expect(arrived == published)
        #expect(rejected == summary.anomalies.filter { $0.file == "billing_export.csv" && $0.expected == .rejected && $0.kind != .badNMIChecksum }.count)
        let (_, metrics) = try await worker.get("/metrics")
        #expect(metrics.contains("billsync_build_info"))
        #expect(metrics.contains("billsync_extractor_last_run_timestamp_seconds"))
        let firstLine = worker.log.split(separator: "\n").first.map(String.init) ?? ""
        #expect((try? JSONSerialization.jsonObject(with: Data(firstLine.utf8))) is [String: Any], "not a JSON log line: \(firstLine)")

        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(timeout: .seconds(30)) == 0)
    }
}
