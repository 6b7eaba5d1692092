import BillsyncPostgres
import Foundation

/// Where an incremental SQL source got to: the last row's watermark value and tie-breaker, so
/// rows sharing a timestamp are neither skipped nor read twice across a restart.
public struct SQLWatermark: Codable, Sendable, Hashable {
    public var value: String
    public var tieBreaker: String

    public init(value: String, tieBreaker: String) {
        self.value = value
        self.tieBreaker = tieBreaker
    }
}

/// Reads a query's rows in (watermark, tie-breaker) order, one page at a time, after a saved
/// watermark (seed 001's meter readings: incremental by `updated_at`).
///
/// Rows younger than `settleInterval` are left for the next poll: a transaction that commits
/// late with an older timestamp would otherwise fall behind the watermark and be lost.
public struct SQLWatermarkSource: Sendable {
    public var query: String
    public var watermarkColumn: String
    public var tieBreakerColumn: String
    public var pageSize = 1_000
    public var settleInterval: Duration = .seconds(5)

    public init(query: String, watermarkColumn: String, tieBreakerColumn: String) {
        self.query = query
        self.watermarkColumn = watermarkColumn
        self.tieBreakerColumn = tieBreakerColumn
    }

    /// The next page after `watermark` (from the start when nil), and the watermark after it.
    /// `window` (from inclusive, until exclusive) limits a backfill to a range of the watermark column.
    /// Values come back as PostgreSQL prints them, whatever their type; the watermark and the
    /// window are bound as text of no declared type, so the server reads them as the columns'.
    public func page(after watermark: SQLWatermark?, within window: BackfillWindow? = nil,
                     on database: PostgresPool) async throws -> (rows: [PostgresTextRow], next: SQLWatermark?) {
        let watermarkExpression = "source.\(PostgresSession.quoted(identifier: watermarkColumn))"
        let tieExpression = "source.\(PostgresSession.quoted(identifier: tieBreakerColumn))"
        let settled = "\(watermarkExpression) < now() - make_interval(secs => \(Double(settleInterval.components.seconds)))"
        var sql = "(\(query)) AS source WHERE \(settled)"
        var parameters: [PostgresValue] = []
        if let watermark {
            sql += " AND (\(watermarkExpression), \(tieExpression)) > ($1, $2)"
            parameters = [.untyped(watermark.value), .untyped(watermark.tieBreaker)]
        }
        if let window {
            sql += " AND \(watermarkExpression) >= $\(parameters.count + 1) AND \(watermarkExpression) < $\(parameters.count + 2)"
            parameters += [.untyped(window.from), .untyped(window.until)]
        }
        sql += " ORDER BY \(watermarkExpression), \(tieExpression) LIMIT \(pageSize)"
        let rows = try await database.records(of: "source", from: sql, parameters)
        guard let last = rows.last, let value = last[watermarkColumn], let tie = last[tieBreakerColumn] else {
            return (rows, watermark)
        }
        return (rows, SQLWatermark(value: value, tieBreaker: tie))
    }
}
