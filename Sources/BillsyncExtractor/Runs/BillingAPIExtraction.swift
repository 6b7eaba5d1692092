import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import Foundation
import Logging

/// Passes over the billing engine's REST export: each entity's records changed since the last
/// pass, page by page, each page published and acknowledged before the next is asked for.
///
/// The checkpoint keeps, per entity, the latest `updated_at` seen and the records changed at that
/// instant: the next pass asks from that instant (the API's `updated_since` is inclusive) and
/// leaves out exactly those records, so nothing changed in the same second is skipped or repeated.
public struct BillingAPIExtraction: ExtractionSource {
    public struct Mark: Codable, Sendable, Equatable {
        public var updatedAt: String
        public var keysAtUpdatedAt: [String]
    }

    public struct Checkpoint: Codable, Sendable, Equatable {
        public var entities: [String: Mark]
    }

    public let api: BillingAPISource
    /// API entity names (`accounts`, `bills`, …), read in this order (accounts before what refers to them).
    public let entities: [String]
    public let sourceName: String
    /// When set, re-reads this range of `updated_at` and leaves the checkpoint alone.
    public var backfill: BackfillWindow?
    let publisher: RawPublisher
    /// Per entity: the source mapping file's source with `api: <entity>`, or the built-in shape.
    let mappings: [String: any StructuredRecordMapping]

    public init(api: BillingAPISource, entities: [String], sourceName: String, contracts: MessageContracts, topicPrefix: String = "billsync",
                sources: SourceMappingDocument? = nil) throws {
        var mappings: [String: any StructuredRecordMapping] = [:]
        for entity in entities {
            if let source = sources?.source(forResource: entity) {
                mappings[entity] = SourceRecordMapping(source: source)
            } else if let shape = RawRecordShape.billingAPI[entity] {
                mappings[entity] = shape
            } else {
                throw BillingAPIError(status: 0, message: "unknown entity \(entity) (known: \(RawRecordShape.billingAPI.keys.sorted().joined(separator: ", ")), "
                                      + "or a source with api: \(entity) in the source mapping file)")
            }
        }
        self.mappings = mappings
        self.api = api
        self.entities = entities
        self.sourceName = sourceName
        publisher = RawPublisher(contracts: contracts, system: .billingAPI, sourceName: sourceName, topicPrefix: topicPrefix)
    }

    public var kind: String { "billing-api" }

    public func run(from checkpoint: Checkpoint?, producer: KafkaProducer, logger: Logger,
                    progress: @Sendable (Checkpoint) async throws -> Void) async throws -> ExtractionCounts {
        var counts = ExtractionCounts()
        var marks = checkpoint?.entities ?? [:]
        for entity in entities {
            guard let mapping = mappings[entity] else { continue }
            let previous = backfill == nil ? marks[entity] : nil
            let alreadyRead = Set(previous?.keysAtUpdatedAt ?? [])
            var mark = previous
            var cursor: String?
            repeat {
                let page = try await api.page(entity, updatedSince: backfill?.from ?? previous?.updatedAt, cursor: cursor)
                var messages: [KafkaProducerMessage] = []
                for record in page.records {
                    let updatedAt = record["updated_at"]?.stringValue ?? ""
                    if let backfill, updatedAt >= backfill.until { continue }
                    let prepared = publisher.prepare(mapping.records(of: record, origin: "billing/v1/\(entity)"), origin: RecordOrigin(
                        name: "billing/v1/\(entity)", line: nil, bytes: record.serialized(),
                        identity: "\(publisher.source.system.rawValue)|\(sourceName)|\(updatedAt)"))
                    // What identifies the record across passes: its business key, or its content when refused.
                    let key = prepared.refused ? String(decoding: record.serialized(), as: UTF8.self) : prepared.key
                    if updatedAt == previous?.updatedAt, alreadyRead.contains(key) { continue }
                    prepared.count(into: &counts)
                    messages += prepared.messages
                    if updatedAt > mark?.updatedAt ?? "" {
                        mark = Mark(updatedAt: updatedAt, keysAtUpdatedAt: [key])
                    } else if updatedAt == mark?.updatedAt {
                        mark?.keysAtUpdatedAt.append(key)
                    }
                }
                _ = try await producer.sendAll(messages)
                cursor = page.nextCursor
            } while cursor != nil
            marks[entity] = mark
            // An entity is checkpointed once read to its end (the cursor is only valid within a pass).
            if backfill == nil { try await progress(Checkpoint(entities: marks)) }
            logger.debug("entity read", metadata: ["billsync.entity": "\(entity)", "billsync.published": "\(counts.published)"])
        }
        return counts
    }
}
