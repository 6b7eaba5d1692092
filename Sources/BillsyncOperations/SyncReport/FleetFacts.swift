import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncTopics
import Foundation

/// The messages the sync report reads from the fleet's topics, each reduced to the fields the
/// accounting needs (ids, lineage, outcome, reason). `FleetTopicReader` hands them one at a time
/// to a `FleetLedger`; gathered in these arrays (a few, written by hand), `SyncLedger(facts:)`
/// accounts for them at once. Ids are the envelopes' UUIDs as they appear on the wire.
public struct FleetFacts: Sendable {
    /// A canonical billing record on a raw topic.
    public struct RawRecord: Sendable, Hashable {
        public var id: String
        /// The message type, e.g. `billing-account`.
        public var type: String
        public var businessKey: String
        public var sourceName: String
        public var position: Position
        /// The file and line it was read from, when it came from a file.
        public var file: String?
        public var line: Int?
        /// When the extractor read it (the envelope's `extractedAt`): which run it belongs to.
        public var extractedAt: Date? = nil
        /// `YYYY-MM` of a bill's last bill date or a reading's date: its billing cycle.
        public var billingCycle: String? = nil

        /// `YYYY-MM` of a raw record message's bill date or reading date.
        public static func billingCycle(of message: JSONValue) -> String? {
            (message["payload"]?["lastBillDate"] ?? message["payload"]?["readingDate"])?.stringValue.map { String($0.prefix(7)) }
        }
    }

    /// An upsert command on the upserts topic.
    public struct Upsert: Sendable, Hashable {
        public var id: String
        /// The message it was made from.
        public var causationId: String
        public var object: String
        public var externalId: String
        /// The stage that wrote it (`transformer`, `rollup`); nil from writers that predate the header.
        public var writtenBy: Stage?
        public var position: Position
        /// When the broker took it: when its stage finished the record.
        public var writtenAt: Date? = nil
        /// Its envelope's source and extraction time (those of the record it derives from): a
        /// roll-up total whose record already reached its end is still counted with its run.
        public var sourceName: String? = nil
        public var extractedAt: Date? = nil
    }

    /// A sink's final word on a record.
    public struct LoadResult: Sendable, Hashable {
        public var causationId: String
        public var sink: String
        public var object: String
        public var outcome: String
        /// When the broker took it: when the sink finished the record.
        public var writtenAt: Date? = nil
        /// Its envelope's source (that of the record it derives from), to skip other sources' results unread.
        public var sourceName: String? = nil
    }

    /// A message a stage gave up on, with why.
    public struct DeadLetter: Sendable, Hashable {
        public var stage: Stage
        /// The id of the message dead-lettered (nil for a file row the extractor refused).
        public var originalId: String?
        public var code: String
        public var reason: String
        /// Where in the record: a JSON pointer, or the column for a file row.
        public var field: String?
        /// The business key or the file and line, for a person to find the record.
        public var example: String
        public var source: String?
        public var file: String?
        public var line: Int?
        public var failedAt: String?
        /// The dead-lettered message's own source and extraction time (nil for a file row): a
        /// dead letter whose record already reached its end is still counted with its run.
        public var recordSource: String? = nil
        public var extractedAt: Date? = nil
    }

    /// A copy of a message waiting in one of a stage's retry topics.
    public struct RetryCopy: Sendable, Hashable {
        public var stage: Stage
        public var originalId: String
        public var position: Position
        /// The message's source, to skip other sources' copies unread.
        public var sourceName: String? = nil
    }

    /// Where a message sits.
    public struct Position: Sendable, Hashable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64

        public init(topic: String, partition: Int32, offset: Int64) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
        }

        public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }
    }

    public var raw: [RawRecord] = []
    public var upserts: [Upsert] = []
    public var results: [LoadResult] = []
    public var deadLetters: [DeadLetter] = []
    public var retryCopies: [RetryCopy] = []
    /// Per stage (its consumer group): the next offset it will read, per partition it committed.
    public var committed: [Stage: [KafkaTopicPartition: Int64]] = [:]
    /// The field values of the most recently upserted records per object, for reconciliation.
    public var samples = UpsertSamples()

    public init() {}

    /// Whether the stage's group has committed past this message, i.e. handled it and wrote its outputs.
    public func handled(by stage: Stage, _ position: Position) -> Bool {
        guard let next = committed[stage]?[position.topicPartition] else { return false }
        return next > position.offset
    }
}

extension FleetFacts.DeadLetter {
    /// A dead letter as its headers describe it. `topicStage` is the stage whose dead-letter
    /// topic it was read from; `json` the value parsed, when it is JSON.
    public init(message: KafkaConsumerMessage, topicStage stage: Stage, json: JSONValue?) {
        let headers = message.headers
        let file = headers.last(named: StageHeaders.originFile)
        let line = headers.last(named: StageHeaders.originLine).flatMap(Int.init)
        let example = json?["businessKey"]?.stringValue ?? file.map { "\($0) line \(line ?? 0)" } ?? message.keyString ?? "?"
        // The extractor's dead letters hold a file row or a source record, not a message.
        self.init(stage: headers.last(named: StageHeaders.stage).map(Stage.init(rawValue:)) ?? stage,
                  originalId: stage == .extractor ? nil : json?["id"]?.stringValue,
                  code: headers.last(named: StageHeaders.errorCode) ?? "unknown", reason: headers.last(named: StageHeaders.errorMessage) ?? "",
                  field: headers.last(named: StageHeaders.errorPointer), example: example, source: headers.last(named: StageHeaders.source),
                  file: file, line: line, failedAt: headers.last(named: StageHeaders.firstFailedAt),
                  recordSource: json?["source"]?["name"]?.stringValue,
                  extractedAt: json?["extractedAt"]?.stringValue.flatMap(Timestamp.init(parsing:))?.date)
    }
}
