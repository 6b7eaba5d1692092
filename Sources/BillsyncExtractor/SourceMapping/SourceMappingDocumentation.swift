import BillsyncContracts
import BillsyncMapping

/// The source half of the data mapping document (seed 003's "source tables, transform rules,
/// field usage, and refresh cadence"): for every source, which files it reads and how they are
/// written, and for each column the rules and the canonical field it becomes, followed on to the
/// CRM fields the transformer writes it to. Written from the files the workers run on, so the
/// document cannot drift from the behaviour.
public enum SourceMappingDocumentation {
    static func origin(of source: SourceMappingDocument.Source) -> String {
        if let api = source.api { return "billing API resource `\(api)`" }
        if let sql = source.sql { return "SQL query (watermark `\(sql.watermark)`, tie-breaker `\(sql.tieBreaker)`): `\(sql.query)`" }
        return source.files.map { "`\($0)`" }.joined(separator: ", ")
    }

    /// `destinations(type, path)` names where the transformer sends a canonical field
    /// (`Account.Name (trim; required)`); empty when nothing reads it.
    public static func markdown(_ document: SourceMappingDocument, destinations: (MessageType, String) -> [String]) -> String {
        var lines = ["## Sources: billing exports → canonical billing records", ""]
        for source in document.sources {
            let format = source.format
            let delimiter = format.delimiter == 0x09 ? "tab" : "`\(Character(UnicodeScalar(format.delimiter)))`"
            lines += [
                "### Source `\(source.name)`: \(Self.origin(of: source))", "",
                (source.description.map { $0 + " " } ?? "")
                    + "Encoding \(format.encoding.rawValue), delimiter \(delimiter), control characters \(format.controlCharacters == .refuse ? "refused" : "removed")"
                    + (format.trim ? ", values trimmed" : "") + ". Refresh: \(source.refresh ?? "whenever a file is dropped").", "",
            ]
            for record in source.records {
                lines += [
                    "#### → \(record.type.rawValue) (raw topic `raw.\(record.entity)`, keyed by \(record.key.map { "`\($0)`" }.joined(separator: " | ")))"
                        + (record.when.map { ", only for rows with a `\($0)`" } ?? ""), "",
                    "| source column | source rules | canonical field | CRM field (transformer rules) |", "| --- | --- | --- | --- |",
                ]
                for field in record.fields {
                    let origin: String
                    switch field.source {
                    case let .column(names): origin = names.map { "`\($0)`" }.joined(separator: " or ")
                    case let .constant(value): origin = "constant \(String(decoding: value.serialized(), as: UTF8.self))"
                    case let .template(template): origin = "template `\(template.text)`"
                    }
                    var rules = field.rules.map(\.explanation)
                    switch field.fallback {
                    case let .constant(value)?: rules.insert("default \(String(decoding: value.serialized(), as: UTF8.self))", at: 0)
                    case let .template(template)?: rules.insert("default `\(template.text)`", at: 0)
                    case .column?, nil: break
                    }
                    let crm = field.path.hasPrefix("_") ? "(working value, not published)" : destinations(record.type, field.path).joined(separator: "<br>")
                    lines.append("| \(origin) | \(rules.isEmpty ? "as written" : rules.joined(separator: "; ")) | `\(field.path)` | \(crm.isEmpty ? "—" : crm) |")
                }
                lines.append("")
            }
        }
        return lines.joined(separator: "\n")
    }
}
