import Foundation

/// librdkafka's own `rdkafka_performance`, built from the same sources as the library billsync
/// loads: the reference the binding's throughput is compared with.
public struct RdkafkaPerformanceTool: Sendable {
    public let executable: String

    public init(executable: String) {
        self.executable = executable
    }

    /// Produces `count` messages of `size` bytes to partition 0 and waits for every delivery report.
    public func produce(topic: String, brokers: String, count: Int, size: Int, properties: [String: String]) async throws -> ThroughputFigure {
        let output = try await run(["-P", "-t", topic, "-p", "0", "-b", brokers, "-s", String(size), "-c", String(count)]
            + Self.options(properties))
        return try Self.parse(output, pattern: #"(\d+) messages produced \((\d+) bytes\), (\d+) delivered .* in (\d+)ms"#,
                              messages: 3, bytes: 2, milliseconds: 4)
    }

    /// Reads `count` messages of partition 0 from the beginning.
    public func consume(topic: String, brokers: String, count: Int, properties: [String: String]) async throws -> ThroughputFigure {
        let output = try await run(["-C", "-t", topic, "-p", "0", "-b", brokers, "-o", "beginning", "-c", String(count)]
            + Self.options(properties))
        return try Self.parse(output, pattern: #"(\d+) messages \((\d+) bytes\) consumed in (\d+)ms"#,
                              messages: 1, bytes: 2, milliseconds: 3)
    }

    static func options(_ properties: [String: String]) -> [String] {
        properties.sorted { $0.key < $1.key }.flatMap { ["-X", "\($0.key)=\($0.value)"] }
    }

    /// Reads the last summary line the tool printed.
    static func parse(_ output: String, pattern: String, messages: Int, bytes: Int, milliseconds: Int) throws -> ThroughputFigure {
        let expression = try NSRegularExpression(pattern: pattern)
        let range = NSRange(output.startIndex..., in: output)
        guard let match = expression.matches(in: output, range: range).last else {
            throw BenchmarkError.unreadableOutput(output.suffix(500).description)
        }
        func number(_ group: Int) -> Int {
            Range(match.range(at: group), in: output).flatMap { Int(output[$0]) } ?? 0
        }
        return ThroughputFigure(messages: number(messages), bytes: number(bytes), seconds: Double(number(milliseconds)) / 1000)
    }

    private func run(_ arguments: [String]) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        // Reading to the end blocks until the tool exits: keep that off Swift's thread pool.
        let data = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: data)
            }
        }
        guard process.terminationStatus == 0 else {
            throw BenchmarkError.toolFailed(status: process.terminationStatus, output: String(decoding: data.suffix(500), as: UTF8.self))
        }
        return String(decoding: data, as: UTF8.self)
    }
}

public enum BenchmarkError: Error, CustomStringConvertible {
    case unreadableOutput(String)
    case toolFailed(status: Int32, output: String)
    case incomplete(String)

    public var description: String {
        switch self {
        case .unreadableOutput(let output): "could not read rdkafka_performance's summary from: \(output)"
        case .toolFailed(let status, let output): "rdkafka_performance exited with \(status): \(output)"
        case .incomplete(let what): what
        }
    }
}
