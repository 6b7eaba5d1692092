import Foundation

/// What a benchmark run prints: a table for people, or JSON (with the targets) for scripts.
public struct BenchmarkReport: Sendable, Codable {
    public let benchmark: String
    public let settings: [String: String]
    public let comparisons: [BenchmarkComparison]

    public init(benchmark: String, settings: [String: String], comparisons: [BenchmarkComparison]) {
        self.benchmark = benchmark
        self.settings = settings
        self.comparisons = comparisons
    }

    public var meetsAllTargets: Bool { comparisons.allSatisfy(\.meetsTarget) }

    public func table() -> String {
        var lines = ["\(benchmark)  (" + settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")"]
        let header = ["measure", "billsync msg/s", "MB/s", "reference", "ref msg/s", "MB/s", "ratio", "target", "ok"]
        var rows = [header]
        for comparison in comparisons {
            rows.append([
                comparison.name,
                Self.format(comparison.measured.messagesPerSecond, decimals: 0),
                Self.format(comparison.measured.megabytesPerSecond, decimals: 1),
                comparison.referenceName,
                Self.format(comparison.reference.messagesPerSecond, decimals: 0),
                Self.format(comparison.reference.megabytesPerSecond, decimals: 1),
                Self.format(comparison.ratio, decimals: 2),
                "≥ " + Self.format(comparison.target, decimals: 2),
                comparison.meetsTarget ? "yes" : "NO",
            ])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            lines.append(row.enumerated().map { column, cell in
                cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }

    public func json() throws -> String {
        struct Output: Encodable {
            let report: BenchmarkReport
            func encode(to encoder: Encoder) throws {
                var container = encoder.container(keyedBy: Key.self)
                try container.encode(report.benchmark, forKey: .benchmark)
                try container.encode(report.settings, forKey: .settings)
                try container.encode(report.meetsAllTargets, forKey: .meetsAllTargets)
                try container.encode(report.comparisons.map(Row.init), forKey: .comparisons)
            }
            enum Key: String, CodingKey { case benchmark, settings, meetsAllTargets, comparisons }
        }
        struct Row: Encodable {
            let name: String, reference: String
            let messagesPerSecond: Double, megabytesPerSecond: Double
            let referenceMessagesPerSecond: Double, referenceMegabytesPerSecond: Double
            let ratio: Double, target: Double, meetsTarget: Bool
            init(_ comparison: BenchmarkComparison) {
                name = comparison.name
                reference = comparison.referenceName
                messagesPerSecond = comparison.measured.messagesPerSecond.rounded()
                megabytesPerSecond = (comparison.measured.megabytesPerSecond * 100).rounded() / 100
                referenceMessagesPerSecond = comparison.reference.messagesPerSecond.rounded()
                referenceMegabytesPerSecond = (comparison.reference.megabytesPerSecond * 100).rounded() / 100
                ratio = (comparison.ratio * 1000).rounded() / 1000
                target = comparison.target
                meetsTarget = comparison.meetsTarget
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(Output(report: self)), as: UTF8.self)
    }

    private static func format(_ value: Double, decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }
}
