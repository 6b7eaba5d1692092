import BillsyncContracts
import BillsyncKafka
import Foundation

/// The silences a fleet has, as its compacted silences topic holds them: the latest record per
/// silence id. What `billsync silence` reads and writes; the alerter follows the same topic.
public enum SilenceBook {
    /// The latest version of every silence in `messages` (a topic read from its beginning).
    public static func latest(_ messages: [KafkaConsumerMessage], contracts: MessageContracts) -> [Silence] {
        var byId: [UUID: Silence] = [:]
        for message in messages {
            guard let value = message.value, let silence = try? contracts.decode(value, as: Silence.self).payload else { continue }
            byId[silence.silenceId] = silence
        }
        return byId.values.sorted { ($0.startsAt.date, $0.silenceId.uuidString) < ($1.startsAt.date, $1.silenceId.uuidString) }
    }

    /// Whether it holds anything back at `now` (started, not ended, not deleted).
    public static func isActive(_ silence: Silence, at now: Date) -> Bool {
        silence.deleted != true && silence.startsAt.date <= now && now < silence.endsAt.date
    }

    /// `label=value` pairs, as typed on the command line. Labels: kind, stage, code, field, object, group, source.
    public static func matchers(_ pairs: [String]) throws -> [Silence.Matcher] {
        let labels: Set<String> = ["kind", "stage", "code", "field", "object", "group", "source"]
        return try pairs.map { pair in
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex, pair.index(after: equals) != pair.endIndex else {
                throw SilenceError(description: "'\(pair)' is not label=value")
            }
            let label = String(pair[..<equals])
            guard labels.contains(label) else {
                throw SilenceError(description: "'\(label)' is not a label alerts carry (\(labels.sorted().joined(separator: ", ")))")
            }
            return Silence.Matcher(label: label, value: String(pair[pair.index(after: equals)...]))
        }
    }

    /// One line per silence for the terminal.
    public static func describe(_ silence: Silence, now: Date) -> String {
        let formatter = ISO8601DateFormatter()
        let state = silence.deleted == true ? "expired by hand" : isActive(silence, at: now) ? "active"
            : silence.endsAt.date <= now ? "ended" : "pending"
        let matchers = silence.matchers.map { "\($0.label)=\($0.value)" }.joined(separator: " ")
        return "\(silence.silenceId.uuidString.lowercased())  \(state)  until \(formatter.string(from: silence.endsAt.date))  \(matchers)  by \(silence.createdBy): \(silence.comment)"
    }

    public struct SilenceError: Error, CustomStringConvertible {
        public let description: String
    }
}
