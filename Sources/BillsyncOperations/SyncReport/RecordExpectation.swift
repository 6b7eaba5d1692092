import Foundation

/// What should become of one row of an input file: the sample generator's `anomalies.json`
/// lists each deliberate bad row this way, and the run command checks each against the ledger.
public struct RecordExpectation: Sendable, Hashable, Decodable {
    public enum Expected: String, Sendable, Hashable, Decodable {
        /// Dead-lettered (at any stage), naming the field.
        case rejected
        /// Accepted after cleaning and loaded under its cleaned key.
        case cleaned
        /// Accepted once; the repeat changes nothing.
        case deduplicated
    }

    public var file: String
    /// 1-based line of the row's first line, header included.
    public var line: Int
    public var kind: String
    public var expected: Expected
    /// The key its records carry once cleaned (the customer number).
    public var businessKey: String?

    enum CodingKeys: String, CodingKey {
        case file, line, kind, expected
        case businessKey = "customerId"
    }

    /// The `anomalies` of a sample generator's summary file.
    public static func load(anomaliesFile url: URL) throws -> [RecordExpectation] {
        struct Summary: Decodable { var anomalies: [RecordExpectation] }
        return try JSONDecoder().decode(Summary.self, from: Data(contentsOf: url)).anomalies
    }

    /// Whether the ledger shows this row ending as expected; nil when it does, else what happened.
    public func unmet(in ledger: SyncLedger) -> String? {
        let fromRow = ledger.entries.filter { $0.record?.file == file && $0.record?.line == line }
        switch expected {
        case .rejected:
            if ledger.refusedLines.contains("\(file):\(line)") { return nil }
            if fromRow.contains(where: \.outcome.isDeadLettered) { return nil }
            return "\(file) line \(line) (\(kind)) should have been dead-lettered; its records ended \(Self.describe(fromRow))"
        case .cleaned:
            let loaded = fromRow.filter { $0.record?.businessKey == businessKey && ($0.outcome == .created || $0.outcome == .updated) }
            if !loaded.isEmpty { return nil }
            return "\(file) line \(line) (\(kind)) should have been loaded as \(businessKey ?? "?"); its records ended \(Self.describe(fromRow))"
        case .deduplicated:
            let same = ledger.entries.filter {
                $0.record?.file == file && $0.record?.businessKey == businessKey && $0.flow.direction == .toSalesforce
            }
            let lines = Set(same.compactMap(\.record?.line))
            let repeatChangedNothing = same.contains { $0.outcome == .unchanged }
            let allFinal = same.allSatisfy { $0.outcome.isFinal && !$0.outcome.isDeadLettered }
            if lines.count >= 2, repeatChangedNothing, allFinal { return nil }
            return "\(file) line \(line) (\(kind)): the rows of \(businessKey ?? "?") should load once and the repeat change nothing; they ended \(Self.describe(same))"
        }
    }

    static func describe(_ entries: [SyncLedger.Entry]) -> String {
        entries.isEmpty ? "nowhere (no record read from that row)" : entries.map { "\($0.record?.type ?? $0.flow.object): \($0.outcome)" }.joined(separator: ", ")
    }
}
