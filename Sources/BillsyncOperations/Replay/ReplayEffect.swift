import BillsyncContracts
import BillsyncKafka
import Foundation

/// What re-reading a set of messages will do, predicted before anything is sent: messages per
/// partition, distinct business keys, the time span, and the Salesforce API calls the upserts
/// they cause will cost (as the loader batches them).
public struct ReplayEffect: Sendable, Equatable {
    /// An upsert a message causes, by object and external id.
    public struct Upsert: Sendable, Hashable {
        public var object: String
        public var externalId: String

        public init(object: String, externalId: String) {
            self.object = object
            self.externalId = externalId
        }
    }

    /// Per partition: how many messages and the offsets of the first and last.
    public struct PartitionRange: Sendable, Equatable, Codable {
        public var messages: Int
        public var firstOffset: Int64
        public var lastOffset: Int64
    }

    public var partitions: [Int32: PartitionRange] = [:]
    public var distinctKeys = 0
    public var first: Date?
    public var last: Date?
    /// Upserts per Salesforce object; empty when the topic's messages do not become upserts.
    public var upsertsPerObject: [String: Int] = [:]
    public var estimatedAPICalls = 0

    public var messages: Int { partitions.values.map(\.messages).reduce(0, +) }

    /// `upserts` says which upserts a message becomes (the upserts topic: itself; a raw topic:
    /// what the mapping makes of it).
    public init(_ messages: [KafkaConsumerMessage], upserts: (KafkaConsumerMessage) -> [Upsert]) {
        var keys = Set<String>()
        var perObject: [String: [String: Int]] = [:]
        for message in messages {
            if var range = partitions[message.partition] {
                range.messages += 1
                range.firstOffset = min(range.firstOffset, message.offset)
                range.lastOffset = max(range.lastOffset, message.offset)
                partitions[message.partition] = range
            } else {
                partitions[message.partition] = PartitionRange(messages: 1, firstOffset: message.offset, lastOffset: message.offset)
            }
            keys.insert(message.keyString ?? "")
            if let stamp = message.timestamp {
                first = min(first ?? stamp, stamp)
                last = max(last ?? stamp, stamp)
            }
            for upsert in upserts(message) { perObject[upsert.object, default: [:]][upsert.externalId, default: 0] += 1 }
        }
        distinctKeys = keys.count
        upsertsPerObject = perObject.mapValues { $0.values.reduce(0, +) }
        estimatedAPICalls = perObject.values.map { ids in
            SalesforceLoadCost.calls(records: ids.values.reduce(0, +), waves: ids.values.max() ?? 1)
        }.reduce(0, +)
    }

    /// The prediction as the dry run prints it.
    public func text(indent: String = "  ") -> String {
        var table = TextTable(["partition", "messages", "first offset", "last offset"], numericColumns: [0, 1, 2, 3])
        for (partition, range) in partitions.sorted(by: { $0.key < $1.key }) {
            table.add(["\(partition)", "\(range.messages)", "\(range.firstOffset)", "\(range.lastOffset)"])
        }
        let formatter = ISO8601DateFormatter()
        var lines = messages == 0 ? ["\(indent)no message matches"] : [table.rendered(indent: indent)]
        let span = first.map { " from \(formatter.string(from: $0)) to \(formatter.string(from: last ?? $0))" } ?? ""
        lines.append("\(indent)\(messages) messages, \(distinctKeys) distinct business keys\(span)")
        if messages == 0 {
            return lines.joined(separator: "\n")
        } else if upsertsPerObject.isEmpty {
            lines.append("\(indent)Salesforce: no upserts (these messages do not become CRM records)")
        } else {
            let objects = upsertsPerObject.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            lines.append("\(indent)Salesforce: about \(estimatedAPICalls) API calls for \(upsertsPerObject.values.reduce(0, +)) upserts (\(objects))")
        }
        return lines.joined(separator: "\n")
    }
}
