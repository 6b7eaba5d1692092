import BillsyncTopics
import Foundation

/// The run report a person reads at the end of a run: one table of where every record ended,
/// the dead letters grouped by reason, the API calls, and whether the accounting closes.
public struct SyncReportText: Sendable {
    public var ledger: SyncLedger
    /// Salesforce API calls, as the system of record counted them (nil when unknown).
    public var apiCalls: Int?
    public var elapsedSeconds: Double?
    /// Each expectation with what went wrong (nil when met).
    public var expectations: [(RecordExpectation, String?)] = []
    /// Stages that still had messages to handle when the report was taken.
    public var laggingStages: [Stage: Int64] = [:]
    /// Where every expectation not met was written (`ExpectationSummary.writeUnmet`), to name it.
    public var unmetList: String?

    public init(ledger: SyncLedger, apiCalls: Int? = nil, elapsedSeconds: Double? = nil) {
        self.ledger = ledger
        self.apiCalls = apiCalls
        self.elapsedSeconds = elapsedSeconds
    }

    /// Closed: every record final, every stage caught up, every expectation met.
    public var succeeded: Bool {
        ledger.isClosed && laggingStages.values.allSatisfy { $0 == 0 } && expectations.allSatisfy { $0.1 == nil }
    }

    public var rendered: String {
        var out: [String] = []
        var table = TextTable(["object", "from", "extracted", "transformed", "unchanged", "created", "updated", "dead-lettered", "retrying",
                               "unaccounted"], numericColumns: Set(2...9))
        for row in ledger.rows {
            let extracted = row.flow.direction == .rollup ? "-" : String(row.extracted)
            let transformed = row.flow.direction == .toBilling ? "-" : String(row.transformed)
            table.add([row.flow.object, "\(row.flow.from) \(row.flow.direction.rawValue)", extracted, transformed, String(row.unchanged),
                       String(row.created), String(row.updated), String(row.deadLettered), String(row.retrying + row.pending),
                       String(row.unaccounted)])
        }
        out.append("Records extracted: \(ledger.recordsExtracted) (a meter reading goes both to Salesforce and back to billing, so it has two lines)")
        out.append(table.rendered())
        for (type, count) in ledger.unrouted.sorted(by: { $0.key < $1.key }) {
            out.append("\(type): \(count) record\(count == 1 ? "" : "s") published that no running stage reads")
        }
        for (file, count) in ledger.refusedRows.sorted(by: { $0.key < $1.key }) {
            out.append("\(file): \(count) row\(count == 1 ? "" : "s") refused by the extractor before becoming records (dead-lettered below)")
        }
        if !ledger.deadLetterGroups.isEmpty {
            out.append("")
            out.append("Dead letters by reason:")
            var reasons = TextTable(["stage", "code", "field", "count", "reason", "examples"], numericColumns: [3])
            for group in ledger.deadLetterGroups {
                reasons.add([group.stage.rawValue, group.code, group.field ?? "-", String(group.count), Self.shortened(group.reason, to: 70),
                             group.examples.joined(separator: ", ")])
            }
            out.append(reasons.rendered(indent: "  "))
        }
        out.append("")
        let stages: [Stage] = ledger.rows.isEmpty ? [] : [.transformer, .rollup, .loader, .loaderBilling]
        if !stages.isEmpty {
            out.append("Through the retry topics: " + stages.map { "\($0.rawValue) \(ledger.retried[$0] ?? 0)" }.joined(separator: ", "))
        }
        if let apiCalls { out.append("Salesforce API calls: \(apiCalls) (as counted by the Salesforce side)") }
        if let elapsedSeconds { out.append(String(format: "Elapsed: %.1f s from extraction to the last record's end", elapsedSeconds)) }
        if !expectations.isEmpty { out += ExpectationSummary(expectations).lines(listedIn: unmetList) }
        for (stage, lag) in laggingStages.sorted(by: { $0.key < $1.key }) where lag > 0 {
            out.append("The \(stage) still had \(lag) message\(lag == 1 ? "" : "s") to handle.")
        }
        let open = ledger.open
        let count = ledger.unfinished
        if count == 0 && succeeded {
            out.append("Accounting closes: every extracted record was loaded, left unchanged or dead-lettered with its reason.")
        } else if count > 0 {
            out.append("Accounting does NOT close: \(count) record\(count == 1 ? " is" : "s are") unaccounted for:")
            for entry in open.prefix(20) { out.append("  \(entry.description) → \(entry.flow.object): \(Self.describe(entry.outcome))") }
            if count > 20 { out.append("  … and \(count - 20) more") }
        } else {
            out.append("Accounting does NOT close (see above).")
        }
        return out.joined(separator: "\n")
    }

    static func describe(_ outcome: SyncLedger.Outcome) -> String {
        switch outcome {
        case let .retrying(stage): "still in the \(stage)'s retry topics"
        case let .pending(stage): "not yet handled by the \(stage)"
        case let .unaccounted(stage, reason): "lost at the \(stage): \(reason)"
        default: "\(outcome)"
        }
    }

    static func shortened(_ text: String, to length: Int) -> String {
        text.count <= length ? text : String(text.prefix(length - 1)) + "…"
    }
}
