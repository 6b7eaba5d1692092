import BillsyncContracts
import Foundation

/// Wording the Markdown and HTML renderings share.
enum SyncReportWording {
    static func direction(_ direction: SyncReport.Flow.Direction) -> String {
        switch direction {
        case .toSalesforce: "to Salesforce"
        case .toBilling: "to billing"
        case .rollup: "roll-up to Salesforce"
        }
    }

    /// One sentence: why the run has its status.
    static func verdict(_ report: SyncReport) -> String {
        let flows = report.flows ?? []
        let unaccounted = flows.reduce(0) { $0 + $1.unaccounted }
        let open = flows.reduce(0) { $0 + $1.retrying + $1.pending }
        let dead = report.counts.deadLettered ?? 0
        var parts: [String] = []
        if unaccounted > 0 { parts.append("\(unaccounted) \(records(unaccounted)) unaccounted for (lost)") }
        if dead > 0 { parts.append("\(dead) dead-lettered") }
        if open > 0 { parts.append("\(open) still retrying or pending") }
        switch report.status {
        case .succeeded: return "Every record was loaded or left unchanged."
        case .partial, .failed:
            let sentence = parts.joined(separator: ", ")
            return sentence.isEmpty ? "The run did not complete." : sentence.prefix(1).uppercased() + sentence.dropFirst() + "."
        }
    }

    static func records(_ count: Int) -> String { count == 1 ? "record" : "records" }

    /// `4 min 12 s`, `38 s`, `1 h 2 min`.
    static func duration(from start: Timestamp, to end: Timestamp) -> String {
        let seconds = Int(max(0, end.date.timeIntervalSince(start.date)).rounded())
        if seconds < 60 { return "\(seconds) s" }
        if seconds < 3600 { return "\(seconds / 60) min \(seconds % 60) s" }
        return "\(seconds / 3600) h \(seconds % 3600 / 60) min"
    }

    /// A number of seconds as JSON writes it (`12.5`, `38`).
    static func seconds(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// The counts that are present, in reading order, with their labels.
    static func counts(_ counts: SyncReport.Counts) -> [(name: String, label: String, value: Int)] {
        let all: [(String, String, Int?)] = [
            ("read", "records extracted", counts.read), ("published", "published", counts.published),
            ("rejected", "rows refused by the extractor", counts.rejected), ("loaded", "loaded", counts.loaded),
            ("created", "created", counts.created), ("updated", "updated", counts.updated),
            ("suppressed", "unchanged (suppressed)", counts.suppressed), ("deadLettered", "dead-lettered", counts.deadLettered),
        ]
        return all.compactMap { name, label, value in value.map { (name, label, $0) } }
    }
}
