import Foundation

/// What a benchmark run prints: a table for people, or JSON (with the targets) for scripts.
public struct BenchmarkReport: Sendable, Codable {
    public let benchmark: String
    public let settings: [String: String]
    public let comparisons: [BenchmarkComparison]
    /// Figures measured on their own (not as a ratio to a reference), some with a target.
    public let figures: [BenchmarkFigure]

    public init(benchmark: String, settings: [String: String], comparisons: [BenchmarkComparison], figures: [BenchmarkFigure] = []) {
        self.benchmark = benchmark
        self.settings = settings
        self.comparisons = comparisons
        self.figures = figures
    }

    public var meetsAllTargets: Bool { comparisons.allSatisfy(\.meetsTarget) && figures.allSatisfy { $0.meetsTarget != false } }

    public func table() -> String {
        var lines = ["\(benchmark)  (" + settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")"]
        if comparisons.isEmpty { return (lines + [figureTable()]).joined(separator: "\n") }
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
        if !figures.isEmpty { lines.append(figureTable()) }
        return lines.joined(separator: "\n")
    }

    func figureTable() -> String {
        let header = ["measure", "value", "unit", "target", "ok"]
        var rows = [header]
        for figure in figures {
            rows.append([figure.name, Self.format(figure.value, decimals: figure.value < 100 ? 2 : 0), figure.unit,
                         figure.target.map { (figure.lowerIsBetter ? "≤ " : "≥ ") + Self.format($0, decimals: 2) } ?? "-",
                         figure.meetsTarget.map { $0 ? "yes" : "NO" } ?? "-"])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in cell.padding(toLength: widths[column], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }.joined(separator: "\n")
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
                try container.encode(report.figures, forKey: .figures)
            }
            enum Key: String, CodingKey { case benchmark, settings, meetsAllTargets, comparisons, figures }
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

/// One measured figure, with its unit and, when it has one, its target.
public struct BenchmarkFigure: Sendable, Codable, Equatable {
    public let name: String
    public let value: Double
    public let unit: String
    public let target: Double?
    /// For a cost (calls, memory) the target is a ceiling; for a rate, a floor.
    public let lowerIsBetter: Bool

    public init(name: String, value: Double, unit: String, target: Double? = nil, lowerIsBetter: Bool = false) {
        self.name = name
        self.value = value
        self.unit = unit
        self.target = target
        self.lowerIsBetter = lowerIsBetter
    }

    public var meetsTarget: Bool? {
        target.map { lowerIsBetter ? value <= $0 : value >= $0 }
    }
}
