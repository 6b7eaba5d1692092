import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncPostgres
import Foundation
import Logging

/// Passes over an incremental SQL query (seed 001's meter readings): the rows after the saved
/// watermark, page by page, each page published and acknowledged before the watermark moves.
/// Column names become payload fields (`meter_id` → `meterId`); alias columns in the query to
/// match the contract. The watermark and tie-breaker columns are bookkeeping and left out of the
/// record (select them a second time under another name to keep them).
public struct SQLExtraction: ExtractionSource {
    public typealias Checkpoint = SQLWatermark

    public let query: SQLWatermarkSource
    /// A source of the source mapping file (with `sql:`), or a built-in shape.
    public let mapping: any StructuredRecordMapping
    public let sourceName: String
    /// The database's pool, shared by the worker's SQL sources and run in its service group.
    let database: PostgresPool
    /// When set, re-reads this range of the watermark column and leaves the checkpoint alone.
    public var backfill: BackfillWindow?
    let publisher: RawPublisher

    public init(query: SQLWatermarkSource, mapping: any StructuredRecordMapping, database: PostgresPool, sourceName: String,
                contracts: MessageContracts, topicPrefix: String = "billsync") {
        self.query = query
        self.mapping = mapping
        self.database = database
        self.sourceName = sourceName
        publisher = RawPublisher(contracts: contracts, system: .sql, sourceName: sourceName, topicPrefix: topicPrefix)
    }

    public var kind: String { "sql" }

    public func run(from checkpoint: SQLWatermark?, producer: KafkaProducer, logger: Logger,
                    progress: @Sendable (SQLWatermark) async throws -> Void) async throws -> ExtractionCounts {
        var counts = ExtractionCounts()
        var watermark = backfill == nil ? checkpoint : nil
        while true {
            let page = try await query.page(after: watermark, within: backfill, on: database)
            if page.rows.isEmpty { break }
            var messages: [KafkaProducerMessage] = []
            for row in page.rows {
                var record = JSONObject()
                for (column, value) in zip(row.columns, row.values)
                where column != query.watermarkColumn && column != query.tieBreakerColumn {
                    record[column] = value.map(JSONValue.string) ?? .null
                }
                let version = "\(row[query.watermarkColumn] ?? "")|\(row[query.tieBreakerColumn] ?? "")"
                let prepared = publisher.prepare(mapping.records(of: .object(record), origin: "sql \(sourceName)"), origin: RecordOrigin(
                    name: "sql \(sourceName)", line: nil, bytes: JSONValue.object(record).serialized(),
                    identity: "\(publisher.source.system.rawValue)|\(sourceName)|\(version)"))
                prepared.count(into: &counts)
                messages += prepared.messages
            }
            _ = try await producer.sendAll(messages)
            watermark = page.next
            if backfill == nil, let watermark { try await progress(watermark) }
        }
        return counts
    }
}
