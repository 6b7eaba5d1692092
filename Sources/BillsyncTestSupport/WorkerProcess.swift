import BillsyncHTTP
import Foundation

/// A billsync executable as a real process, for what only a process can show: SIGKILL, SIGTERM
/// and its exit code, the HTTP endpoints.
public final class WorkerProcess: Sendable {
    public let process: ChildProcess
    public let port: Int
    public let logFile: URL

    /// A product built with the tests (the test bundle sits next to the products).
    public static func executable(_ name: String) -> URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path), directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent(name)
    }

    /// Starts `executable` with the broker, a free port for its endpoints, JSON logs to a file,
    /// short group timeouts (so a killed member's partitions move quickly) and `environment`.
    public init(executable: String, environment extra: [String: String], arguments: [String] = []) throws {
        port = TestRepository.freePort()
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(TestKafka.uniqueName("worker")).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        var environment = ProcessInfo.processInfo.environment
        environment["KAFKA_BROKERS"] = TestKafka.connection.bootstrapServers.joined(separator: ",")
        environment["BILLSYNC_HTTP_HOST"] = "127.0.0.1"
        environment["BILLSYNC_HTTP_PORT"] = String(port)
        environment["BILLSYNC_LOG_FORMAT"] = "json"
        environment["BILLSYNC_SCHEMAS"] = TestRepository.schemas.path
        environment["BILLSYNC_KAFKA_PROPERTY_SESSION_TIMEOUT_MS"] = "6000"
        environment["BILLSYNC_KAFKA_PROPERTY_HEARTBEAT_INTERVAL_MS"] = "500"
        for (key, value) in extra { environment[key] = value }
        process = try ChildProcess(Self.executable(executable), arguments: arguments, environment: environment,
                                   output: .appending(to: logFile), error: .appending(to: logFile))
    }

    public func signal(_ signal: Int32) {
        process.signal(signal)
    }

    /// The exit status (128 + the signal when killed), or nil if the process is still running
    /// after `timeout`.
    public func waitForExit(timeout: Duration) async -> Int32? {
        let finished = await eventually(timeout: timeout) { !self.process.isRunning }
        return finished ? process.termination?.status : nil
    }

    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    public func get(_ path: String) async throws -> (status: Int, body: String) {
        let url = URL(string: "http://127.0.0.1:\(port)\(path)")!
        let answer = try await HTTPTransport.shared.send("GET", url, timeout: .seconds(10))
        return (answer.status, answer.text)
    }

    /// The value of a Prometheus counter summed over all its label sets.
    public func metric(_ name: String, matching labels: [String] = []) async throws -> Double {
        let (_, body) = try await get("/metrics")
        return body.split(separator: "\n")
            .filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .filter { line in labels.allSatisfy { line.contains($0) } }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }
}
