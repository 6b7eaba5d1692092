import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import Foundation

/// Which messages of a topic a replay takes: from a time or offset (inclusive) to a time or
/// offset (exclusive), optionally only some business keys or one billing period.
public struct ReplaySelection: Sendable, CustomStringConvertible {
    public enum Bound: Sendable, Equatable {
        /// The message's timestamp (producer time).
        case time(Date)
        /// The same offset in every partition.
        case offset(Int64)
        /// Per partition; a partition not named is not bounded (for `to`) or not replayed (for `from`).
        case partitionOffsets([Int32: Int64])

        /// `2026-11-20T09:00:00Z`, `120` or `0:120,1:130`.
        public init?(parsing text: String) {
            if let offset = Int64(text), offset >= 0 {
                self = .offset(offset)
            } else if text.contains(":"), !text.contains("T"), let offsets = Self.partitionOffsets(text) {
                self = .partitionOffsets(offsets)
            } else if let date = Timestamp(parsing: text)?.date ?? ISO8601DateFormatter().date(from: text) {
                self = .time(date)
            } else {
                return nil
            }
        }

        static func partitionOffsets(_ text: String) -> [Int32: Int64]? {
            var offsets: [Int32: Int64] = [:]
            for item in text.split(separator: ",") {
                let parts = item.split(separator: ":")
                guard parts.count == 2, let partition = Int32(parts[0]), let offset = Int64(parts[1]), partition >= 0, offset >= 0 else { return nil }
                offsets[partition] = offset
            }
            return offsets.isEmpty ? nil : offsets
        }

        var text: String {
            switch self {
            case let .time(date): ISO8601DateFormatter().string(from: date)
            case let .offset(offset): "\(offset)"
            case let .partitionOffsets(offsets): offsets.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
            }
        }
    }

    public var topic: String
    public var from: Bound?
    public var to: Bound?
    public var keys: Set<String>
    /// `YYYY-MM`: only raw records of that billing cycle (a bill's last bill date, a reading's date).
    public var period: String?

    public init(topic: String, from: Bound? = nil, to: Bound? = nil, keys: Set<String> = [], period: String? = nil) {
        self.topic = topic
        self.from = from
        self.to = to
        self.keys = keys
        self.period = period
    }

    /// The first offset to read per partition, where `from` says so (nil: the beginning).
    public func startOffset(partition: Int32) -> Int64? {
        switch from {
        case let .offset(offset): offset
        case let .partitionOffsets(offsets): offsets[partition]
        default: nil
        }
    }

    /// Whether `from` leaves the partition out altogether.
    public func skips(partition: Int32) -> Bool {
        if case let .partitionOffsets(offsets) = from { return offsets[partition] == nil }
        return false
    }

    public func matches(_ message: KafkaConsumerMessage) -> Bool {
        guard message.topic == topic, !skips(partition: message.partition) else { return false }
        switch from {
        case let .time(date): guard let stamp = message.timestamp, stamp >= date else { return false }
        case .offset, .partitionOffsets: guard message.offset >= startOffset(partition: message.partition) ?? 0 else { return false }
        case nil: break
        }
        switch to {
        case let .time(date): guard let stamp = message.timestamp, stamp < date else { return false }
        case let .offset(offset): guard message.offset < offset else { return false }
        case let .partitionOffsets(offsets): if let end = offsets[message.partition], message.offset >= end { return false }
        case nil: break
        }
        guard message.value != nil else { return false }  // a tombstone is not a record to replay
        if !keys.isEmpty { guard let key = message.keyString, keys.contains(key) else { return false } }
        if let period {
            guard let value = message.value, let json = try? JSONParser.parse(value), FleetFacts.RawRecord.billingCycle(of: json) == period else { return false }
        }
        return true
    }

    /// As the operator gave it: the activity record keeps it, and `--resume` compares it.
    public var description: String {
        var parts = ["topic=\(topic)"]
        if let from { parts.append("from=\(from.text)") }
        if let to { parts.append("to=\(to.text)") }
        if !keys.isEmpty { parts.append("key=\(keys.sorted().joined(separator: ","))") }
        if let period { parts.append("period=\(period)") }
        return parts.joined(separator: " ")
    }
}
