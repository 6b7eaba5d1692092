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

    public init(api: BillingAPISource, entities: [String], sourceName: String, contracts: MessageContracts, topicPrefix: String = "billsync") throws {
        for entity in entities where RawRecordShape.billingAPI[entity] == nil {
            throw BillingAPIError(status: 0, message: "unknown entity \(entity) (known: \(RawRecordShape.billingAPI.keys.sorted().joined(separator: ", ")))")
        }
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
            let shape = RawRecordShape.billingAPI[entity]!
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
                    let key = shape.key(of: shape.payload(from: record)) ?? ""
                    if updatedAt == previous?.updatedAt, alreadyRead.contains(key) { continue }
                    messages.append(publisher.message(for: record, shape: shape, origin: "billing/v1/\(entity)", version: updatedAt, counts: &counts))
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
