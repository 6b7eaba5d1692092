import BillsyncMapping
/// The data mapping document seed 003 describes (source field, transform rule, target object and
/// field, refresh cadence), written from the same file the transformer runs on, so the document
/// and the behaviour cannot drift apart.
public enum MappingDocumentation {
    /// `level` is the title's heading level (2 when the document is a section of a larger one).
    public static func markdown(_ document: MappingDocument, title: String = "billsync data mapping", level: Int = 1) -> String {
        var lines = ["\(String(repeating: "#", count: level)) \(title)", ""]
        if !document.lookups.isEmpty {
            lines += ["\(String(repeating: "#", count: level + 1)) Reference data", "", "| lookup | file | key | value |", "| --- | --- | --- | --- |"]
            lines += document.lookups.map { "| \($0.name) | `\($0.file)` | \($0.keyColumn) | \($0.valueColumn) |" }
            lines.append("")
        }
        for mapping in document.objects {
            lines += [
                "\(String(repeating: "#", count: level + 1)) \(mapping.source.rawValue) → \(mapping.object)", "",
                "Matched on `\(mapping.object).\(mapping.externalIdField)` = `\(mapping.externalIdFrom.joined(separator: "` | `"))`. "
                    + "Refresh: \(mapping.refresh ?? "with every extraction").", "",
                "| source field | rules | target field |", "| --- | --- | --- |",
            ]
            for field in mapping.fields {
                let rules = field.rules.isEmpty ? "copied as is" : field.rules.map(describe).joined(separator: "; ")
                lines.append("| `\(field.from)` | \(rules) | \(field.to.map { "`\(mapping.object).\($0)`" } ?? "(checked only)") |")
            }
            lines.append("")
        }
        if let hierarchy = document.hierarchy {
            lines += [
                "\(String(repeating: "#", count: level + 1)) Account hierarchy roll-ups → \(hierarchy.object)", "",
                "Every C1 and C2 account, matched on `\(hierarchy.object).\(hierarchy.externalIdField)` = its `customerId`, "
                    + "from billing-account (`accountId`, `parentAccountId`, `hierarchyLevel`), billing-bill and billing-premise. "
                    + "Refresh: \(hierarchy.refresh ?? "with every change below the account").", "",
                "| measure | rule | target field |", "| --- | --- | --- |",
            ]
            lines += hierarchy.rollups.map { "| \($0.measure.rawValue) | \($0.measure.explanation) | `\(hierarchy.object).\($0.field)` |" }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ rule: MappingRule) -> String { rule.explanation }
}
