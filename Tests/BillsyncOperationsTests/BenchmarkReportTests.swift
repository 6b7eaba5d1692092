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

    @Test("a cost figure meets its target at or below it, and the report says so in the table and the JSON")
    func costFigures() throws {
        let report = BenchmarkReport(benchmark: "loader", settings: [:], comparisons: [], figures: [
            BenchmarkFigure(name: "calls per 1,000", value: 5, unit: "calls", target: 5, lowerIsBetter: true),
            BenchmarkFigure(name: "records/s", value: 3_800, unit: "records/s"),
        ])
        #expect(report.meetsAllTargets)
        let over = BenchmarkReport(benchmark: "loader", settings: [:], comparisons: [], figures: [
            BenchmarkFigure(name: "calls per 1,000", value: 5.05, unit: "calls", target: 5, lowerIsBetter: true),
        ])
        #expect(!over.meetsAllTargets)
        #expect(over.table().contains("≤ 5.00") && over.table().contains("NO"))
        let json = try JSONSerialization.jsonObject(with: Data(over.json().utf8)) as? [String: Any]
        #expect(json?["meetsAllTargets"] as? Bool == false)
        #expect((json?["figures"] as? [[String: Any]])?.first?["value"] as? Double == 5.05)
    }
}
