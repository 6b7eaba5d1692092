import Foundation

/// The deliberate anomalies' outcome in a few lines: per kind, how many ended as expected and a
/// few examples of those that did not. At scale a run has a thousand anomalies; the report names
/// the kinds that went wrong, and the full list goes to a file (`writeUnmet`).
public struct ExpectationSummary: Sendable {
    public struct Kind: Sendable, Hashable {
        public var kind: String
        public var expected: String
        public var met = 0
        public var total = 0
        /// What went wrong, for the first few not met (in the anomalies file's order).
        public var examples: [String] = []
        public var unmet: Int { total - met }
    }

    /// Examples named per kind.
    public static let examplesPerKind = 3

    public let kinds: [Kind]
    public let met: Int
    public let total: Int
    let unmet: [String]

    public init(_ results: [(RecordExpectation, String?)]) {
        var byKind: [String: Kind] = [:]
        var unmet: [String] = []
        for (expectation, problem) in results {
            var kind = byKind[expectation.kind] ?? Kind(kind: expectation.kind, expected: expectation.expected.rawValue)
            kind.total += 1
            if let problem {
                unmet.append(problem)
                if kind.examples.count < Self.examplesPerKind { kind.examples.append(problem) }
            } else {
                kind.met += 1
            }
            byKind[expectation.kind] = kind
        }
        kinds = byKind.values.sorted { $0.kind < $1.kind }
        met = results.count - unmet.count
        total = results.count
        self.unmet = unmet
    }

    /// The summary line, then one line per kind with some not met and its examples.
    public func lines(listedIn path: String?) -> [String] {
        let counts = kinds.map { "\($0.kind) \($0.expected) \($0.met)/\($0.total)" }
        var lines = ["Deliberate anomalies ending as expected: \(met) of \(total) (\(counts.joined(separator: ", ")))"]
        for kind in kinds where kind.unmet > 0 {
            lines.append("  NOT MET: \(kind.unmet) \(kind.kind) (\(kind.expected)), e.g.:")
            for example in kind.examples { lines.append("    \(example)") }
        }
        if unmet.count > 0, let path { lines.append("  Every expectation not met (\(unmet.count)): \(path)") }
        return lines
    }

    /// Writes every expectation not met, one a line, replacing the file whole.
    public func writeUnmet(to url: URL) throws {
        try Data((unmet.joined(separator: "\n") + "\n").utf8).write(to: url, options: .atomic)
    }
}
