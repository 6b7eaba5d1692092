import BillsyncKafka
import BillsyncSandbox
import BillsyncHTTP
import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
        guard let samples = await metricSamples() else { return nil }
        var sums: [String: Double] = [:]
        for sample in samples { sums[sample.name, default: 0] += sample.value }
        return sums
    }

    /// One line of /metrics: the family's name, its labels as written (`stage="x",topic="y"`), the value.
    struct MetricSample {
        let name: String
        let labels: String
        let value: Double
    }

    /// Every sample on the worker's /metrics; nil while it does not answer.
    func metricSamples() async -> [MetricSample]? {
        guard let url = URL(string: "http://127.0.0.1:\(metricsPort)/metrics"),
              let answer = try? await HTTPTransport.shared.send("GET", url, timeout: .seconds(5)), answer.status == 200 else { return nil }
        let text = answer.text
        var samples: [MetricSample] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let value = Double(parts[parts.count - 1]) else { continue }
            let series = parts[0].split(separator: "{", maxSplits: 1)
            samples.append(MetricSample(name: String(series.first ?? ""), labels: series.count > 1 ? String(series[1].dropLast()) : "", value: value))
        }
        return samples
    }

    /// VmHWM: the most memory the process ever had resident.
    var peakResidentMegabytes: Double {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kilobytes / 1024
    }

    /// The CPU time the process has used so far, user and system, all its threads (utime and
    /// stime of /proc/PID/stat, in clock ticks of 1/100 s).
    var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let afterName = stat.lastIndex(of: ")") else { return 0 }
        // Fields after the command name, which may itself hold spaces: state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / 100
    }

    /// SIGTERM, as an orchestrator stops it; SIGKILL if it has not exited within `grace`.
    func stop(grace: Duration = .seconds(30)) {
        process.terminate()
        // The kill is scheduled, not polled for: the wait below ends with the process either way.
        let process = self.process
        DispatchQueue.global().asyncAfter(deadline: .now() + grace.timeInterval) {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
    }
}

/// A benchmark that could not measure what it set out to (the worker never finished).
struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
}
