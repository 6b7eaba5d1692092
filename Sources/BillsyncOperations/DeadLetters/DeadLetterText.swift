import BillsyncKafka
import Foundation

/// How the operator tool prints dead letters.
public enum DeadLetterText {
    /// Header or field names whose values are secrets wherever they appear.
    static let secretWords = ["password", "secret", "token", "authorization", "apikey", "api-key", "private"]

    static func isSecret(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return secretWords.contains { lowered.contains($0) }
    }

    /// Where it sits, why it failed, its headers and its value (pretty JSON when it is JSON),
    /// with the values of any header or field named like a secret masked.
    public static func describe(_ entry: DeadLetterEntry) -> String {
        var lines = [
            "dead letter  \(entry.address)",
            "stage        \(entry.facts.stage)",
            "error        \(entry.facts.code)\(entry.facts.field.map { " on \($0)" } ?? "")",
            "reason       \(entry.facts.reason)",
            "record       \(entry.facts.example)",
            "failed from  \(entry.originTopic ?? "-")",
            "redriven     \(entry.redrives) times",
            "headers:",
        ]
        for header in entry.message.headers {
            let value = header.value.map { String(decoding: $0, as: UTF8.self) } ?? "(none)"
            lines.append("  \(header.name): \(isSecret(header.name) ? "********" : value)")
        }
        lines.append("value:")
        if let value = entry.message.value, let object = try? JSONSerialization.jsonObject(with: Data(value)),
           let pretty = try? JSONSerialization.data(withJSONObject: masked(object), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) {
            lines.append(String(decoding: pretty, as: UTF8.self))
        } else {
            lines.append(entry.message.value.map { String(decoding: $0, as: UTF8.self) } ?? "(none)")
        }
        return lines.joined(separator: "\n")
    }

    static func masked(_ value: Any) -> Any {
        if let object = value as? [String: Any] {
            return Dictionary(uniqueKeysWithValues: object.map { key, value in (key, isSecret(key) ? "********" : masked(value)) })
        }
        if let array = value as? [Any] { return array.map(masked) }
        return value
    }

    /// What a redrive would do: the dry run's prediction.
    public static func plan(_ plan: Redrive.Plan, filter: DeadLetterFilter) -> String {
        var lines = ["selected by \(filter): \(plan.send.count + plan.park.count + plan.unroutable.count + plan.superseded.count) dead letters"]
        lines.append("  to send back: \(plan.send.count) (\(plan.distinctKeys) distinct records)")
        for (topic, count) in plan.perTopic.sorted(by: { $0.key < $1.key }) { lines.append("    \(topic): \(count)") }
        let times = plan.send.compactMap(\.deadLetteredAt)
        if let first = times.min(), let last = times.max() {
            let formatter = ISO8601DateFormatter()
            lines.append("    dead-lettered from \(formatter.string(from: first)) to \(formatter.string(from: last))")
        }
        if !plan.park.isEmpty { lines.append("  to park (redriven too often already): \(plan.park.count)") }
        if !plan.superseded.isEmpty { lines.append("  left: \(plan.superseded.count) older dead letters of messages that failed again since") }
        if !plan.unroutable.isEmpty {
            lines.append("  not redrivable: \(plan.unroutable.count) rows the extractor refused (fix the file and extract it again)")
        }
        return lines.joined(separator: "\n")
    }

    /// A progress line, redrawn in place.
    public static func progress(_ done: Int, _ total: Int) {
        let width = 30
        let filled = total == 0 ? width : width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total)".utf8))
    }
}
