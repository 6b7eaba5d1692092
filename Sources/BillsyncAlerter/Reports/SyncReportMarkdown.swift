import BillsyncContracts
import Foundation

/// The sync report as Markdown (GitHub-flavoured tables): for a chat message, a ticket or a
/// mail body. Counts per flow, the largest dead-letter groups with examples and their redrive
/// commands, the reconciliation, API calls and stage timings.
public struct SyncReportMarkdown: Sendable {
    public var report: SyncReport
    /// Dead-letter groups shown; the rest are summed up in one line.
    public var topGroups: Int

    public init(_ report: SyncReport, topGroups: Int = 10) {
        self.report = report
        self.topGroups = topGroups
    }

    public var rendered: String {
        var out: [String] = []
        out.append("# Sync report: \(report.status.rawValue)")
        out.append("")
        out.append(SyncReportWording.verdict(report))
        out.append("")
        out.append("- Run: `\(report.runId.uuidString.lowercased())` (\(Self.text(report.stage)), \(report.source.map { "source \(Self.text($0))" } ?? "every source"))")
        if let period = report.period { out.append("- Period: \(period.from) to \(period.to)") }
        out.append("- Started \(report.startedAt), finished \(report.finishedAt) (\(SyncReportWording.duration(from: report.startedAt, to: report.finishedAt)))")
        out.append("- Salesforce API calls: \(report.apiCalls.map(String.init) ?? "unknown")")
        let counts = SyncReportWording.counts(report.counts)
        if !counts.isEmpty {
            out.append("- " + counts.map { "\($0.label): \($0.value)" }.joined(separator: ", "))
        }
        if let flows = report.flows, !flows.isEmpty {
            out += ["", "## Records by object", ""]
            out.append("| Object | From | Direction | Extracted | Transformed | Suppressed | Created | Updated | Dead-lettered | Retrying | Pending | Unaccounted |")
            out.append("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
            for flow in flows {
                let numbers = [flow.extracted, flow.transformed, flow.suppressed, flow.created, flow.updated, flow.deadLettered, flow.retrying,
                               flow.pending, flow.unaccounted].map(String.init)
                out.append(Self.row([flow.object, flow.from, SyncReportWording.direction(flow.direction)].map(Self.cell) + numbers))
            }
        }
        if let groups = report.deadLetterGroups, !groups.isEmpty {
            out += ["", "## Dead letters by reason", ""]
            for (index, group) in groups.prefix(topGroups).enumerated() {
                let field = group.field.map { " on `\(Self.code($0))`" } ?? ""
                out.append("\(index + 1). **\(group.count) at the \(Self.text(group.stage))**: `\(Self.code(group.code))`\(field): \(Self.text(group.reason))")
                if !group.examples.isEmpty {
                    out.append("   Examples: " + group.examples.map { "`\(Self.code($0))`" }.joined(separator: ", "))
                }
                out.append("   Redrive: `\(Self.code(group.command))`")
            }
            let rest = groups.dropFirst(topGroups)
            if !rest.isEmpty {
                let count = rest.reduce(0) { $0 + $1.count }
                out.append("")
                out.append("… and \(rest.count) more group\(rest.count == 1 ? "" : "s") (\(count) dead \(count == 1 ? "letter" : "letters")).")
            }
        }
        if let reconciliation = report.reconciliation { out += reconciliationLines(reconciliation) }
        if let cycles = report.billingCycles, !cycles.isEmpty {
            out += ["", "## By billing cycle", "", "| Cycle | Records | Extracted | Loaded | Suppressed | Dead-lettered | Open |", "|---|---|--:|--:|--:|--:|--:|"]
            for cycle in cycles {
                out.append(Self.row([cycle.cycle, Self.cell(cycle.type), "\(cycle.extracted)", "\(cycle.loaded)", "\(cycle.suppressed)",
                                     "\(cycle.deadLettered)", "\(cycle.open)"]))
            }
        }
        if let timings = report.stageTimings, !timings.isEmpty {
            out += ["", "## Stage timings", "", "| Stage | Seconds |", "|---|--:|"]
            for timing in timings { out.append(Self.row([Self.cell(timing.stage), SyncReportWording.seconds(timing.seconds)])) }
        }
        return out.joined(separator: "\n") + "\n"
    }

    func reconciliationLines(_ reconciliation: SyncReport.Reconciliation) -> [String] {
        let differing = Set(reconciliation.mismatched.map { "\($0.object)|\($0.externalId)" }).count
        var out = ["", "## Reconciliation with the CRM", ""]
        var summary = "Read back \(reconciliation.sampled) loaded \(SyncReportWording.records(reconciliation.sampled)): "
            + "\(reconciliation.matched) matched, \(differing) with \(reconciliation.mismatched.count) differing field\(reconciliation.mismatched.count == 1 ? "" : "s"), "
            + "\(reconciliation.missing.count) missing"
        if let unreadable = reconciliation.unreadable, !unreadable.isEmpty { summary += ", \(unreadable.count) unreadable" }
        out.append(summary + ".")
        if !reconciliation.mismatched.isEmpty {
            out += ["", "| Object | External id | Field | Sent | In the CRM |", "|---|---|---|---|---|"]
            for mismatch in reconciliation.mismatched {
                out.append(Self.row([mismatch.object, mismatch.externalId, mismatch.field].map(Self.cell)
                    + [mismatch.expected, mismatch.actual].map { $0.map(Self.cell) ?? "*(empty)*" }))
            }
        }
        if !reconciliation.missing.isEmpty {
            out += ["", "Missing from the CRM: " + reconciliation.missing.map { "\(Self.text($0.object)) `\(Self.code($0.externalId))`" }.joined(separator: ", ")]
        }
        for unreadable in reconciliation.unreadable ?? [] {
            out.append("- Could not read \(Self.text(unreadable.object)) `\(Self.code(unreadable.externalId))`: \(Self.text(unreadable.reason))")
        }
        return out
    }

    static func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }

    /// Text in a table cell (pipes are escaped by `text` already).
    static func cell(_ text: String) -> String { Self.text(text) }

    /// Running text: one line, nothing a renderer would take for emphasis, a link, a code span,
    /// HTML or a table's column break. (GFM reads `Meter_Reading__c` as it is.)
    static func text(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\n", "\r", "\t": out.append(" ")
            case "\\", "`", "*", "[", "]", "<", ">", "|": out.append("\\"); out.append(character)
            default: out.append(character)
            }
        }
        return out
    }

    /// Text in a code span: one line, backticks replaced (a code span cannot escape them).
    static func code(_ text: String) -> String {
        text.map { "\n\r\t".contains($0) ? " " : $0 == "`" ? "'" : String($0) }.joined()
    }
}
