import BillsyncTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The sample pass-through worker as a real process, for what only a process can show:
/// SIGKILL, SIGTERM and its exit code, the HTTP endpoints.
final class WorkerProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched by the test that owns this object.
    let process = Process()
    let port: Int
    let logFile: URL

    static var executable: URL {
        // The test bundle sits next to the products it was built with.
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("billsync-passthrough").path),
              directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("billsync-passthrough")
    }

    init(harness: RuntimeHarness, group: String, shutdownTimeout: String = "20s") throws {
        port = TestRepository.freePort()
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(TestKafka.uniqueName("worker")).log")
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        var environment = ProcessInfo.processInfo.environment
        environment["KAFKA_BROKERS"] = TestKafka.connection.bootstrapServers.joined(separator: ",")
        environment["BILLSYNC_STAGE_GROUP"] = group
        environment["BILLSYNC_STAGE_INPUTS"] = harness.input
        environment["BILLSYNC_STAGE_RETRYTOPICS"] = harness.retryTopics.joined(separator: ",")
        environment["BILLSYNC_STAGE_DEADLETTERTOPIC"] = harness.deadLetters
        environment["BILLSYNC_PASSTHROUGH_OUTPUT"] = harness.output
        environment["BILLSYNC_HTTP_HOST"] = "127.0.0.1"
        environment["BILLSYNC_HTTP_PORT"] = String(port)
        environment["BILLSYNC_LOG_FORMAT"] = "json"
        environment["BILLSYNC_SHUTDOWN_TIMEOUT"] = shutdownTimeout
        environment["BILLSYNC_SCHEMAS"] = TestRepository.schemas.path
        // Short group timeouts, so a killed member's partitions move quickly.
        environment["BILLSYNC_KAFKA_PROPERTY_SESSION_TIMEOUT_MS"] = "6000"
        environment["BILLSYNC_KAFKA_PROPERTY_HEARTBEAT_INTERVAL_MS"] = "500"
        process.executableURL = Self.executable
        process.environment = environment
        let log = try FileHandle(forWritingTo: logFile)
        process.standardError = log
        process.standardOutput = log
        try process.run()
    }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// The exit status, or nil if the process is still running after `timeout`.
    func waitForExit(timeout: Duration) async -> Int32? {
        let finished = await eventually(timeout: timeout) { !self.process.isRunning }
        return finished ? process.terminationStatus : nil
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    func get(_ path: String) async throws -> (status: Int, body: String) {
        let url = URL(string: "http://127.0.0.1:\(port)\(path)")!
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// The value of a Prometheus counter summed over all its label sets.
    func metric(_ name: String, matching labels: [String] = []) async throws -> Double {
        let (_, body) = try await get("/metrics")
        return body.split(separator: "\n")
            .filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .filter { line in labels.allSatisfy { line.contains($0) } }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
