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

    /// Each expectation with what went wrong (nil when it was met); the ledger's entries are
    /// indexed once for all of them.
    public static func check(_ expectations: [RecordExpectation], in ledger: SyncLedger) -> [(RecordExpectation, String?)] {
        let index = RowIndex(ledger)
        return expectations.map { ($0, $0.unmet(in: index)) }
    }

    /// Whether the ledger shows this row ending as expected; nil when it does, else what happened.
    public func unmet(in ledger: SyncLedger) -> String? {
        unmet(in: RowIndex(ledger))
    }

    /// The ledger's entries by file row, and by file and key into Salesforce.
    struct RowIndex {
        let ledger: SyncLedger
        var byRow: [String: [SyncLedger.Entry]] = [:]
        var byKey: [String: [SyncLedger.Entry]] = [:]

        init(_ ledger: SyncLedger) {
            self.ledger = ledger
            for entry in ledger.entries {
                guard let record = entry.record, let file = record.file else { continue }
                byRow["\(file):\(record.line ?? 0)", default: []].append(entry)
                if entry.flow.direction == .toSalesforce { byKey["\(file)|\(record.businessKey)", default: []].append(entry) }
            }
        }
    }

    func unmet(in index: RowIndex) -> String? {
        let fromRow = index.byRow["\(file):\(line)"] ?? []
        switch expected {
        case .rejected:
            if index.ledger.refusedLines.contains("\(file):\(line)") { return nil }
            if fromRow.contains(where: \.outcome.isDeadLettered) { return nil }
            return "\(file) line \(line) (\(kind)) should have been dead-lettered; its records ended \(Self.describe(fromRow))"
        case .cleaned:
            let loaded = fromRow.filter { $0.record?.businessKey == businessKey && ($0.outcome == .created || $0.outcome == .updated) }
            if !loaded.isEmpty { return nil }
            return "\(file) line \(line) (\(kind)) should have been loaded as \(businessKey ?? "?"); its records ended \(Self.describe(fromRow))"
        case .deduplicated:
            let same = index.byKey["\(file)|\(businessKey ?? "")"] ?? []
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
