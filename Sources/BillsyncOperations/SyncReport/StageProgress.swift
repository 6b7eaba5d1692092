import BillsyncTopics

/// One line per stage of how far a run got: records in (handled), out (written), dead-lettered,
/// and lag (messages waiting, over the stage's inputs and retry topics). Read from the topics
/// and committed offsets, so it needs nothing from the workers themselves.
public struct StageProgress: Sendable, Hashable {
    public var stage: Stage
    public var handled: Int?
    public var written: Int
    public var deadLettered: Int
    public var lag: Int64?

    public var line: String {
        var parts: [String] = []
        if let handled { parts.append("in \(handled)") }
        parts.append("out \(written)")
        parts.append("dead-lettered \(deadLettered)")
        if let lag { parts.append("lag \(lag)") }
        return stage.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0) + parts.joined(separator: "  ")
    }

    /// The stages of a run, in the order records pass them, from its ledger's counts.
    public static func of(_ ledger: SyncLedger, lag: [Stage: Int64]) -> [StageProgress] {
        func dead(_ stage: Stage) -> Int { ledger.deadLetterGroups.filter { $0.stage == stage }.map(\.count).reduce(0, +) }
        var lines = [StageProgress(stage: .extractor, handled: nil, written: ledger.recordsExtracted, deadLettered: dead(.extractor), lag: nil)]
        for stage in [Stage.transformer, .rollup, .loader, .loaderBilling] where lag[stage] != nil {
            let counts = ledger.stages[stage] ?? SyncLedger.StageCount()
            lines.append(StageProgress(stage: stage, handled: counts.handled, written: counts.written, deadLettered: dead(stage), lag: lag[stage]))
        }
        return lines
    }
}
