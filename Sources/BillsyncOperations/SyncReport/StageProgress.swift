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

    /// The stages of a run, in the order records pass them, from what the ledger of the run
    /// already gathered.
    public static func of(_ facts: FleetFacts, ledger: SyncLedger, lag: [Stage: Int64]) -> [StageProgress] {
        let rawIds = Set(ledger.records.map(\.id))
        let upsertIds = Set(ledger.upserts.map(\.id))
        func dead(_ stage: Stage) -> Int { ledger.deadLetterGroups.filter { $0.stage == stage }.map(\.count).reduce(0, +) }
        var lines = [StageProgress(stage: .extractor, handled: nil, written: ledger.records.count, deadLettered: dead(.extractor), lag: nil)]
        for stage in [Stage.transformer, .rollup, .loader, .loaderBilling] where lag[stage] != nil {
            let handled: Int
            let written: Int
            switch stage {
            case .loader:
                handled = ledger.upserts.filter { facts.handled(by: stage, $0.position) }.count
                written = facts.results.filter { $0.sink == "salesforce" && upsertIds.contains($0.causationId) }.count
            case .loaderBilling:
                handled = ledger.records.filter { facts.handled(by: stage, $0.position) }.count
                written = facts.results.filter { $0.sink == "billing" && rawIds.contains($0.causationId) }.count
            default:
                handled = ledger.records.filter { facts.handled(by: stage, $0.position) }.count
                written = ledger.upserts.filter { $0.writtenBy == stage }.count
            }
            lines.append(StageProgress(stage: stage, handled: handled, written: written, deadLettered: dead(stage), lag: lag[stage]))
        }
        return lines
    }
}
