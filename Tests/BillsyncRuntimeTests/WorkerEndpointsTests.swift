import BillsyncKafka
import BillsyncTestSupport
import BillsyncTopics
import Foundation
import Testing

/// Every executable that runs continuously is built by `StageWorker`; this checks it from the
/// outside, as Kubernetes and Prometheus see each one.
@Suite("Every continuously running worker serves the same endpoints, logs JSON and stops cleanly on SIGTERM", .serialized)
struct WorkerEndpointsTests {
    struct Worker: Sendable, CustomTestStringConvertible {
        let executable: String
        let arguments: [String]
        let environment: [String: String]
        var testDescription: String { ([executable] + arguments).joined(separator: " ") }
    }

    static let workers: [Worker] = {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("endpoints-\(UUID().uuidString)").path
        let mapping = ["BILLSYNC_TRANSFORMER_MAPPING": TestRepository.root.appendingPathComponent("Deploy/transformer/mapping.yaml").path]
        let drop = FileManager.default.temporaryDirectory.appendingPathComponent("endpoints-drop-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: drop, withIntermediateDirectories: true)
        return [
            Worker(executable: "billsync-transformer", arguments: [],
                   environment: mapping.merging(["BILLSYNC_TRANSFORMER_STATE": state + "-mapping.sqlite"]) { $1 }),
            Worker(executable: "billsync-transformer", arguments: ["--role", "rollup"],
                   environment: mapping.merging(["BILLSYNC_TRANSFORMER_STATE": state + "-rollup.sqlite"]) { $1 }),
            // Nothing reaches a sink here: a loader needs no reachable Salesforce or billing engine to start.
            Worker(executable: "billsync-loader", arguments: ["--sink", "salesforce"],
                   environment: ["SALESFORCE_LOGIN_URL": "http://127.0.0.1:9", "SALESFORCE_CLIENT_ID": "endpoints",
                                 "SALESFORCE_CLIENT_SECRET": "endpoints-secret"]),
            Worker(executable: "billsync-loader", arguments: ["--sink", "billing"],
                   environment: ["BILLSYNC_LOADER_BILLING_URL": "http://127.0.0.1:9/", "BILLSYNC_LOADER_BILLING_TOKEN": "endpoints-token"]),
            Worker(executable: "billsync-extractor", arguments: ["--csv-dir", drop, "--schedule", "every 1h", "--source", "drop"],
                   environment: [:]),
            Worker(executable: "billsync-alerter", arguments: [],
                   environment: ["BILLSYNC_MAPPING": TestRepository.mappingFile.path,
                                 "BILLSYNC_REPORTS_DIR": FileManager.default.temporaryDirectory.appendingPathComponent("endpoints-reports").path,
                                 "BILLSYNC_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/hooks/endpoints-secret"]),
        ]
    }()

    @Test("the worker answers /healthz, /readyz and /metrics, and exits 0 on SIGTERM", arguments: workers)
    func servesTheEndpoints(_ worker: Worker) async throws {
        let catalog = TopicCatalog(partitions: 1, prefix: TestKafka.uniqueName("ep"))
        try await KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger).createTopics(catalog.specifications)
        let process = try WorkerProcess(executable: worker.executable,
                                        environment: worker.environment.merging(["BILLSYNC_TOPIC_PREFIX": catalog.prefix]) { $1 },
                                        arguments: worker.arguments)
        let live = await eventually(timeout: .seconds(30)) { (try? await process.get("/healthz").status) == 200 }
        #expect(live, "no /healthz; log:\n\(process.log.suffix(2000))")
        let ready = await eventually(timeout: .seconds(30)) { (try? await process.get("/readyz").status) == 200 }
        #expect(ready, "never ready; log:\n\(process.log.suffix(2000))")
        let (status, metrics) = try await process.get("/metrics")
        #expect(status == 200)
        #expect(metrics.contains("billsync_build_info{"))
        // JSON lines, as a log collector reads them, none of them carrying the secrets it was given.
        let lines = process.log.split(separator: "\n").filter { !$0.isEmpty }
        #expect(!lines.isEmpty && lines.allSatisfy { $0.hasPrefix("{") })
        #expect(!process.log.contains("endpoints-secret") && !process.log.contains("endpoints-token"))
        process.signal(SIGTERM)
        #expect(await process.waitForExit(timeout: .seconds(30)) == 0, "log:\n\(process.log.suffix(2000))")
    }
}
