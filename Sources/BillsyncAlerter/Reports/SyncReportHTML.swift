import BillsyncContracts
import Foundation

/// The sync report as one self-contained HTML page: inline CSS and SVG charts, no scripts, no
/// external assets, every text escaped. Every number is in an element marked
/// `data-metric="<key>.<field>"` (`SyncReportMetrics`), so the page can be checked against the JSON.
public struct SyncReportHTML: Sendable {
    public var report: SyncReport

    public init(_ report: SyncReport) {
        self.report = report
    }

    public var rendered: String {
        var page = SyncReportPage()
        page.open("!DOCTYPE html")
        page.raw("<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        page.raw("<title>\(htmlEscaped("Sync report: \(report.status.rawValue), \(report.finishedAt)"))</title>")
        page.raw("<style>\(Self.style)</style></head><body>")
        header(&page)
        flows(&page)
        deadLetters(&page)
        if let reconciliation = report.reconciliation { self.reconciliation(reconciliation, &page) }
        billingCycles(&page)
        timings(&page)
        page.raw("<footer>Written by billsync. The report.json beside this page is the same report as a <code>sync-report.v1</code> message.</footer>")
        page.raw("</body></html>\n")
        return page.text
    }

    func header(_ page: inout SyncReportPage) {
        page.raw("<header><h1>Sync report <span class=\"status \(report.status.rawValue)\">\(report.status.rawValue)</span></h1>")
        page.raw("<p class=\"verdict\">\(htmlEscaped(SyncReportWording.verdict(report)))</p><dl class=\"meta\">")
        page.raw("<dt>Run</dt><dd><code>\(htmlEscaped(report.runId.uuidString.lowercased()))</code> · \(htmlEscaped(report.stage)) · \(htmlEscaped(report.source.map { "source \($0)" } ?? "every source"))</dd>")
        if let period = report.period { page.raw("<dt>Period</dt><dd>\(htmlEscaped(period.from.text)) to \(htmlEscaped(period.to.text))</dd>") }
        page.raw("<dt>Started</dt><dd>\(htmlEscaped(report.startedAt.text))</dd><dt>Finished</dt><dd>\(htmlEscaped(report.finishedAt.text)) ")
        page.raw("(\(htmlEscaped(SyncReportWording.duration(from: report.startedAt, to: report.finishedAt))))</dd></dl></header>")
        page.raw("<section class=\"tiles\">")
        for count in SyncReportWording.counts(report.counts) {
            page.raw("<div class=\"tile \(count.name)\"><span class=\"value\" data-metric=\"counts.\(count.name)\">\(count.value)</span>")
            page.raw("<span class=\"label\">\(htmlEscaped(count.label))</span></div>")
        }
        if let apiCalls = report.apiCalls {
            page.raw("<div class=\"tile\"><span class=\"value\" data-metric=\"run.apiCalls\">\(apiCalls)</span><span class=\"label\">Salesforce API calls</span></div>")
        } else {
            page.raw("<div class=\"tile\"><span class=\"value unknown\">?</span><span class=\"label\">Salesforce API calls (unknown)</span></div>")
        }
        page.raw("</section>")
    }

    /// The outcomes a flow's bar shows, in order, with their colours.
    static let segments: [(field: String, label: String, colour: String, value: @Sendable (SyncReport.Flow) -> Int)] = [
        ("created", "created", "#2e7d32", { $0.created }), ("updated", "updated", "#81c784", { $0.updated }),
        ("suppressed", "unchanged (suppressed)", "#b0bec5", { $0.suppressed }), ("deadLettered", "dead-lettered", "#c62828", { $0.deadLettered }),
        ("retrying", "retrying", "#f9a825", { $0.retrying }), ("pending", "pending", "#64b5f6", { $0.pending }),
        ("unaccounted", "unaccounted for", "#6a1b9a", { $0.unaccounted }),
    ]

    func flows(_ page: inout SyncReportPage) {
        guard let flows = report.flows, !flows.isEmpty else { return }
        page.raw("<section><h2>Records by object</h2><p class=\"legend\">")
        for segment in Self.segments {
            page.raw("<span><svg width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" fill=\"\(segment.colour)\"/></svg> \(htmlEscaped(segment.label))</span>")
        }
        page.raw("</p><table><thead><tr><th>Object</th><th>From</th><th>Direction</th><th>Outcomes</th>")
        let columns: [(String, String, (SyncReport.Flow) -> Int)] = [
            ("extracted", "Extracted", { $0.extracted }), ("transformed", "Transformed", { $0.transformed }),
            ("suppressed", "Suppressed", { $0.suppressed }), ("created", "Created", { $0.created }), ("updated", "Updated", { $0.updated }),
            ("deadLettered", "Dead-lettered", { $0.deadLettered }), ("retrying", "Retrying", { $0.retrying }),
            ("pending", "Pending", { $0.pending }), ("unaccounted", "Unaccounted", { $0.unaccounted }),
        ]
        for column in columns { page.raw("<th class=\"num\">\(column.1)</th>") }
        page.raw("</tr></thead><tbody>")
        for flow in flows {
            let key = SyncReportMetrics.key(flow)
            page.raw("<tr\(flow.unaccounted > 0 ? " class=\"lost\"" : "")><td>\(htmlEscaped(flow.object))</td><td>\(htmlEscaped(flow.from))</td>")
            page.raw("<td>\(htmlEscaped(SyncReportWording.direction(flow.direction)))</td><td>\(stackedBar(flow))</td>")
            for (field, _, value) in columns {
                page.raw("<td class=\"num\" data-metric=\"\(htmlEscaped(key)).\(field)\">\(value(flow))</td>")
            }
            page.raw("</tr>")
        }
        page.raw("</tbody></table></section>")
    }

    /// One horizontal bar, its segments proportional to the flow's outcomes.
    func stackedBar(_ flow: SyncReport.Flow) -> String {
        let width = 150.0
        let total = Self.segments.reduce(0) { $0 + $1.value(flow) }
        let description = Self.segments.map { "\($0.label) \($0.value(flow))" }.joined(separator: ", ")
        var svg = "<svg class=\"bar\" width=\"\(Int(width))\" height=\"16\" viewBox=\"0 0 \(Int(width)) 16\" role=\"img\" aria-label=\"\(htmlEscaped(description))\">"
        svg += "<rect width=\"\(Int(width))\" height=\"16\" fill=\"#eceff1\"/>"
        var x = 0.0
        for segment in Self.segments where total > 0 && segment.value(flow) > 0 {
            let length = width * Double(segment.value(flow)) / Double(total)
            svg += "<rect x=\"\(Self.number(x))\" width=\"\(Self.number(length))\" height=\"16\" fill=\"\(segment.colour)\">"
            svg += "<title>\(htmlEscaped("\(segment.label): \(segment.value(flow))"))</title></rect>"
            x += length
        }
        return svg + "</svg>"
    }

    func deadLetters(_ page: inout SyncReportPage) {
        guard let groups = report.deadLetterGroups, !groups.isEmpty else { return }
        let largest = groups.map(\.count).max() ?? 1
        page.raw("<section><h2>Dead letters by reason</h2><table class=\"groups\"><thead><tr><th class=\"num\">Records</th><th></th><th>Stage</th>")
        page.raw("<th>Code</th><th>Field</th><th>Examples</th><th>Reason and redrive command</th></tr></thead><tbody>")
        for group in groups {
            let length = 120.0 * Double(group.count) / Double(max(1, largest))
            page.raw("<tr><td class=\"num\" data-metric=\"\(htmlEscaped(SyncReportMetrics.key(group))).count\">\(group.count)</td>")
            page.raw("<td><svg width=\"120\" height=\"12\" aria-hidden=\"true\"><rect width=\"\(Self.number(length))\" height=\"12\" fill=\"#c62828\"/></svg></td>")
            page.raw("<td>\(htmlEscaped(group.stage))</td><td><code>\(htmlEscaped(group.code))</code></td>")
            page.raw("<td>\(group.field.map { "<code>\(htmlEscaped($0))</code>" } ?? "<em>none</em>")</td>")
            page.raw("<td>\(group.examples.map { "<code>\(htmlEscaped($0))</code>" }.joined(separator: "<br>"))</td>")
            page.raw("<td class=\"reason\">\(htmlEscaped(group.reason))<pre class=\"command\">\(htmlEscaped(group.command))</pre></td></tr>")
        }
        page.raw("</tbody></table></section>")
    }

    func reconciliation(_ reconciliation: SyncReport.Reconciliation, _ page: inout SyncReportPage) {
        let unreadable = reconciliation.unreadable ?? []
        page.raw("<section><h2>Reconciliation with the CRM</h2><p>Read back ")
        page.raw("<span data-metric=\"reconciliation.sampled\">\(reconciliation.sampled)</span> loaded records: ")
        page.raw("<span data-metric=\"reconciliation.matched\">\(reconciliation.matched)</span> matched, ")
        page.raw("<span data-metric=\"reconciliation.mismatched\">\(reconciliation.mismatched.count)</span> differing fields, ")
        page.raw("<span data-metric=\"reconciliation.missing\">\(reconciliation.missing.count)</span> missing, ")
        page.raw("<span data-metric=\"reconciliation.unreadable\">\(unreadable.count)</span> unreadable.</p>")
        if !reconciliation.mismatched.isEmpty {
            page.raw("<table><thead><tr><th>Object</th><th>External id</th><th>Field</th><th>Sent</th><th>In the CRM</th></tr></thead><tbody>")
            for mismatch in reconciliation.mismatched {
                page.raw("<tr><td>\(htmlEscaped(mismatch.object))</td><td><code>\(htmlEscaped(mismatch.externalId))</code></td><td>\(htmlEscaped(mismatch.field))</td>")
                page.raw("<td>\(Self.value(mismatch.expected))</td><td>\(Self.value(mismatch.actual))</td></tr>")
            }
            page.raw("</tbody></table>")
        }
        if !reconciliation.missing.isEmpty {
            page.raw("<p>Missing from the CRM:</p><ul>")
            for record in reconciliation.missing { page.raw("<li>\(htmlEscaped(record.object)) <code>\(htmlEscaped(record.externalId))</code></li>") }
            page.raw("</ul>")
        }
        if !unreadable.isEmpty {
            page.raw("<p>Could not be read back:</p><ul>")
            for record in unreadable {
                page.raw("<li>\(htmlEscaped(record.object)) <code>\(htmlEscaped(record.externalId))</code>: \(htmlEscaped(record.reason))</li>")
            }
            page.raw("</ul>")
        }
        page.raw("</section>")
    }

    func billingCycles(_ page: inout SyncReportPage) {
        guard let cycles = report.billingCycles, !cycles.isEmpty else { return }
        page.raw("<section><h2>By billing cycle</h2><table><thead><tr><th>Cycle</th><th>Records</th>")
        let columns: [(String, KeyPath<SyncReport.BillingCycle, Int>, String)] = [
            ("Extracted", \.extracted, "extracted"), ("Loaded", \.loaded, "loaded"), ("Suppressed", \.suppressed, "suppressed"),
            ("Dead-lettered", \.deadLettered, "deadLettered"), ("Open", \.open, "open"),
        ]
        for (title, _, _) in columns { page.raw("<th class=\"num\">\(title)</th>") }
        page.raw("</tr></thead><tbody>")
        for cycle in cycles {
            let key = htmlEscaped(SyncReportMetrics.key(cycle))
            page.raw("<tr><td>\(htmlEscaped(cycle.cycle))</td><td>\(htmlEscaped(cycle.type))</td>")
            for (_, path, field) in columns {
                page.raw("<td class=\"num\" data-metric=\"\(key).\(field)\">\(cycle[keyPath: path])</td>")
            }
            page.raw("</tr>")
        }
        page.raw("</tbody></table></section>")
    }

    func timings(_ page: inout SyncReportPage) {
        guard let timings = report.stageTimings, !timings.isEmpty else { return }
        let longest = max(timings.map(\.seconds).max() ?? 0, 0.001)
        page.raw("<section><h2>Stage timings</h2><table><thead><tr><th>Stage</th><th class=\"num\">Seconds</th><th></th></tr></thead><tbody>")
        for timing in timings {
            let length = 300.0 * timing.seconds / longest
            page.raw("<tr><td>\(htmlEscaped(timing.stage))</td>")
            page.raw("<td class=\"num\" data-metric=\"\(htmlEscaped(SyncReportMetrics.key(timing))).seconds\">\(SyncReportWording.seconds(timing.seconds))</td>")
            page.raw("<td><svg width=\"300\" height=\"12\" aria-hidden=\"true\"><rect width=\"\(Self.number(length))\" height=\"12\" fill=\"#546e7a\"/></svg></td></tr>")
        }
        page.raw("</tbody></table></section>")
    }

    static func value(_ text: String?) -> String { text.map { "<code>\(htmlEscaped($0))</code>" } ?? "<em>empty</em>" }

    static func number(_ value: Double) -> String { String(format: "%.2f", value) }

    static let style = """
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#263238;max-width:1400px}
        h1{font-size:1.6rem;margin:0 0 .5rem}h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #cfd8dc}
        .status{font-size:1rem;padding:.15rem .6rem;border-radius:1rem;color:#fff;vertical-align:middle}
        .status.succeeded{background:#2e7d32}.status.partial{background:#ef6c00}.status.failed{background:#c62828}
        .verdict{font-size:1.05rem}.meta{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem;margin:0}.meta dt{font-weight:600}
        .meta dd{margin:0}.tiles{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1rem}
        .tile{border:1px solid #cfd8dc;border-radius:.4rem;padding:.5rem .9rem;min-width:7rem}
        .tile .value{display:block;font-size:1.4rem;font-weight:600;font-variant-numeric:tabular-nums}.tile .label{font-size:.8rem;color:#546e7a}
        .tile.deadLettered .value{color:#c62828}table{border-collapse:collapse;margin-top:.5rem;font-size:.9rem}
        th,td{padding:.3rem .45rem;border-bottom:1px solid #eceff1;text-align:left;vertical-align:top}
        th{font-size:.75rem;color:#546e7a}.num{text-align:right;font-variant-numeric:tabular-nums}tr.lost{background:#f3e5f5}
        .legend span{margin-right:1rem;font-size:.85rem}table.groups{width:100%}.reason{min-width:24rem}
        pre.command{margin:.3rem 0 0;white-space:pre-wrap;overflow-wrap:anywhere;background:#eceff1;padding:.2rem .4rem;border-radius:.2rem}
        code{font-size:.9em}footer{margin-top:2rem;font-size:.8rem;color:#78909c}
        """
}

/// HTML being written.
struct SyncReportPage {
    var text = ""
    mutating func raw(_ html: String) { text += html }
    mutating func open(_ declaration: String) { text += "<\(declaration)>\n" }
}

/// Text made safe for an element's content and for a quoted attribute value.
fileprivate func htmlEscaped(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(character)
        }
    }
    return out
}
