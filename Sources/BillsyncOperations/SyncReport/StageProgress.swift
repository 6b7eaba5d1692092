/// One line per stage of how far a run got: records in (handled), out (written), dead-lettered,
/// and lag (messages waiting, over the stage's inputs and retry topics). Read from the topics
/// and committed offsets, so it needs nothing from the workers themselves.
public struct StageProgress: Sendable, Hashable {
    public var stage: String
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
        return stage.padding(toLength: 15, withPad: " ", startingAt: 0) + parts.joined(separator: "  ")
    }

    /// The stages of a run, in the order records pass them.
    public static func of(_ facts: FleetFacts, ledger: SyncLedger, sources: Set<String>?, lag: [String: Int64],
                          stages: SyncLedger.Stages = SyncLedger.Stages()) -> [StageProgress] {
        let raw = facts.raw.filter { sources?.contains($0.sourceName) ?? true }
        let rawIds = Set(raw.map(\.id))
        let upserts = facts.upserts.filter { rawIds.contains($0.causationId) }
        let upsertIds = Set(upserts.map(\.id))
        func dead(_ stage: String) -> Int { ledger.deadLetterGroups.filter { $0.stage == stage }.map(\.count).reduce(0, +) }
        var lines = [StageProgress(stage: stages.extractor, handled: nil, written: raw.count, deadLettered: dead(stages.extractor), lag: nil)]
        for stage in [stages.transformer, stages.rollup, stages.loader, stages.billing] where lag[stage] != nil {
            let handled: Int
            let written: Int
            switch stage {
            case stages.loader:
                handled = upserts.filter { facts.handled(by: stage, $0.position) }.count
                written = facts.results.filter { $0.sink == "salesforce" && upsertIds.contains($0.causationId) }.count
            case stages.billing:
                handled = raw.filter { $0.type == "billing-meter-reading" && facts.handled(by: stage, $0.position) }.count
                written = facts.results.filter { $0.sink == "billing" && rawIds.contains($0.causationId) }.count
            default:
                handled = raw.filter { facts.handled(by: stage, $0.position) }.count
                written = upserts.filter { $0.writtenBy == stage }.count
            }
            lines.append(StageProgress(stage: stage, handled: handled, written: written, deadLettered: dead(stage), lag: lag[stage]))
        }
        return lines
    }
}
