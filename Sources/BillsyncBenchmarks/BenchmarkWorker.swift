import BillsyncKafka
import BillsyncSandbox
import BillsyncHTTP
import Foundation

/// A billsync worker executable run as its own process for a benchmark: on the benchmark's
/// broker under its topic prefix, its endpoints on a free port, logging errors only. Its metrics
/// and its own peak memory are read from outside, as an operator would.
final class BenchmarkWorker {
    let process = Process()
    let metricsPort = SandboxServer.freePort()

    init(executable: String, arguments: [String] = [], connection: KafkaConnection, topicPrefix: String,
         environment extra: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["KAFKA_BROKERS"] = connection.bootstrapServers.joined(separator: ",")
        environment["BILLSYNC_TOPIC_PREFIX"] = topicPrefix
        environment["BILLSYNC_HTTP_HOST"] = "127.0.0.1"
        environment["BILLSYNC_HTTP_PORT"] = String(metricsPort)
        environment["BILLSYNC_LOG_LEVEL"] = "error"
        for (name, value) in extra { environment[name] = value }
        process.environment = environment
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    var isRunning: Bool { process.isRunning }

    /// Sums of each metric family on the worker's /metrics, by name; nil while it does not answer.
    func metrics() async -> [String: Double]? {
        guard let url = URL(string: "http://127.0.0.1:\(metricsPort)/metrics"),
              let data = try? await HTTPTransport.shared.send("GET", url, timeout: .seconds(5)).body else { return nil }
        var sums: [String: Double] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let value = Double(parts[parts.count - 1]) else { continue }
            let name = parts[0].split(separator: "{", maxSplits: 1).first.map(String.init) ?? ""
            sums[name, default: 0] += value
        }
        return sums
    }

    /// VmHWM: the most memory the process ever had resident.
    var peakResidentMegabytes: Double {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kilobytes / 1024
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

/// A benchmark that could not measure what it set out to (the worker never finished).
struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
}
