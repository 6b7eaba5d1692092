@testable import BillsyncBenchmarks
import Foundation
import Testing

@Suite("Benchmark figures are read and reported faithfully")
struct BenchmarkReportTests {
    @Test("rdkafka_performance's produce summary is read from its last summary line")
    func parsesProduceSummary() throws {
        let output = """
            % Sending 300000 messages of size 300 bytes
            % 300000 messages produced (90000000 bytes), 300000 delivered (offset 116665, 0 failed) in 500ms: 599270 msgs/s and 179.78 MB/s, 53 produce failures, 0 in queue, no compression
            """
        let figure = try RdkafkaPerformanceTool.parse(
            output, pattern: #"(\d+) messages produced \((\d+) bytes\), (\d+) delivered .* in (\d+)ms"#,
            messages: 3, bytes: 2, milliseconds: 4)
        #expect(figure == ThroughputFigure(messages: 300_000, bytes: 90_000_000, seconds: 0.5))
        #expect(figure.messagesPerSecond == 600_000)
    }

    @Test("output without a summary is an error that quotes the output")
    func unreadableOutputIsAnError() {
        #expect(throws: BenchmarkError.self) {
            try RdkafkaPerformanceTool.parse("%ERROR: broker down", pattern: #"(\d+) messages"#, messages: 1, bytes: 1, milliseconds: 1)
        }
    }

    @Test("the JSON report carries the ratio, the target and whether it was met")
    func jsonCarriesTargets() throws {
        let report = BenchmarkReport(benchmark: "kafka-binding", settings: ["messages": "10"], comparisons: [
            BenchmarkComparison(name: "produce", measured: ThroughputFigure(messages: 90, bytes: 900, seconds: 1),
                                reference: ThroughputFigure(messages: 100, bytes: 1000, seconds: 1),
                                referenceName: "tool", target: 0.9),
        ])
        let json = try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any]
        let row = (json?["comparisons"] as? [[String: Any]])?.first
        #expect(row?["ratio"] as? Double == 0.9)
        #expect(row?["target"] as? Double == 0.9)
        #expect(row?["meetsTarget"] as? Bool == true)
        #expect(report.table().contains("produce"))
    }
}
