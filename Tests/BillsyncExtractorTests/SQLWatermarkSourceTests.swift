import BillsyncExtractor
import BillsyncPostgres
import Foundation
import Testing

@Suite("An incremental SQL source reads every row once across pages and restarts, against a real PostgreSQL")
struct SQLWatermarkSourceTests {
    static var url: String {
        ProcessInfo.processInfo.environment["BILLSYNC_POSTGRES_URL"] ?? "postgresql://billsync@127.0.0.1:15432/billsync"
    }

    func table(_ connection: PostgresConnection) async throws -> String {
        let name = "readings_\(UUID().uuidString.prefix(8).lowercased())"
        try await connection.query("""
            CREATE TABLE \(name) (id bigserial PRIMARY KEY, meter_id text NOT NULL, nmi text NOT NULL, reading_date date NOT NULL,
                                  reading numeric(14,4) NOT NULL, updated_at timestamptz NOT NULL)
            """)
        return name
    }

    func insert(_ connection: PostgresConnection, _ table: String, count: Int, at timestamp: String) async throws {
        try await connection.query("""
            INSERT INTO \(table) (meter_id, nmi, reading_date, reading, updated_at)
            SELECT 'MTR-' || n, '6305000123' || (n % 10), DATE '2026-11-15', n * 1.125, $1::timestamptz
            FROM generate_series(1, \(count)) AS n
            """, [timestamp])
    }

    @Test("pages of three over rows that share timestamps, a restart from the saved watermark, then new rows: no gaps, no repeats")
    func incremental() async throws {
        let connection = try PostgresConnection(url: Self.url)
        let table = try await table(connection)
        try await insert(connection, table, count: 5, at: "2026-11-20 09:00:00+10")
        try await insert(connection, table, count: 4, at: "2026-11-20 09:00:00+10")
        try await insert(connection, table, count: 2, at: "2026-11-20 10:00:00+10")
        var source = SQLWatermarkSource(query: "SELECT id, meter_id, nmi, reading_date, reading, updated_at FROM \(table)",
                                        watermarkColumn: "updated_at", tieBreakerColumn: "id")
        source.pageSize = 3
        var seen: [String] = []
        var watermark: SQLWatermark?
        // Two pages, then "crash": the watermark saved after the second page is where the next process starts.
        for _ in 0..<2 {
            let page = try await source.page(after: watermark, on: connection)
            seen += page.rows.compactMap { $0["id"] }
            watermark = page.next
        }
        let restarted = try PostgresConnection(url: Self.url)
        while true {
            let page = try await source.page(after: watermark, on: restarted)
            if page.rows.isEmpty { break }
            seen += page.rows.compactMap { $0["id"] }
            watermark = page.next
        }
        #expect(seen == (1...11).map(String.init))
        try await insert(connection, table, count: 3, at: "2026-11-20 11:00:00+10")
        let later = try await source.page(after: watermark, on: restarted)
        #expect(later.rows.compactMap { $0["id"] } == ["12", "13", "14"])
        // numeric comes back as exact text, trailing zeros of its scale included.
        #expect(later.rows.first?["reading"] == "1.1250")
    }

    @Test("rows younger than the settle interval wait for the next poll")
    func settleInterval() async throws {
        let connection = try PostgresConnection(url: Self.url)
        let table = try await table(connection)
        try await connection.query("INSERT INTO \(table) (meter_id, nmi, reading_date, reading, updated_at) VALUES ('M', '6305000123', DATE '2026-11-15', 1, now())")
        var source = SQLWatermarkSource(query: "SELECT * FROM \(table)", watermarkColumn: "updated_at", tieBreakerColumn: "id")
        source.settleInterval = .seconds(60)
        #expect(try await source.page(after: nil, on: connection).rows.isEmpty)
        source.settleInterval = .zero
        #expect(try await source.page(after: nil, on: connection).rows.count == 1)
    }

    @Test("a bad query is a PostgreSQL error with its SQLSTATE, not a crash")
    func badQuery() async throws {
        let connection = try PostgresConnection(url: Self.url)
        let source = SQLWatermarkSource(query: "SELECT * FROM no_such_table", watermarkColumn: "updated_at", tieBreakerColumn: "id")
        do {
            _ = try await source.page(after: nil, on: connection)
            Issue.record("a missing table was read")
        } catch let error as PostgresError {
            #expect(error.sqlState == "42P01")
            #expect(!error.isTransient)
        }
        #expect(throws: PostgresError.self) { try PostgresConnection(url: "postgresql://billsync@127.0.0.1:1/billsync") }
    }
}
