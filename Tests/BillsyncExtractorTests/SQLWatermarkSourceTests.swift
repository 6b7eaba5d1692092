import BillsyncExtractor
import BillsyncPostgres
import BillsyncTestSupport
import Foundation
import Testing

@Suite("An incremental SQL source reads every row once across pages and restarts, against a real PostgreSQL")
struct SQLWatermarkSourceTests {
    func makeTable(_ database: PostgresPool) async throws -> String {
        let name = TestPostgres.uniqueTable("readings")
        try await database.query("""
            CREATE TABLE \(name) (id bigserial PRIMARY KEY, meter_id text NOT NULL, nmi text NOT NULL, reading_date date NOT NULL,
                                  reading numeric(14,4) NOT NULL, updated_at timestamptz NOT NULL)
            """)
        return name
    }

    func insert(_ database: PostgresPool, _ table: String, count: Int, at timestamp: String) async throws {
        try await database.query("""
            INSERT INTO \(table) (meter_id, nmi, reading_date, reading, updated_at)
            SELECT 'MTR-' || n, '6305000123' || (n % 10), DATE '2026-11-15', n * 1.125, $1::timestamptz
            FROM generate_series(1, \(count)) AS n
            """, [.text(timestamp)])
    }

    @Test("pages of three over rows that share timestamps, a restart from the saved watermark, then new rows: no gaps, no repeats")
    func incremental() async throws {
        let (table, watermark, seenBefore) = try await TestPostgres.withDatabase { database -> (String, SQLWatermark?, [String]) in
            let table = try await makeTable(database)
            try await insert(database, table, count: 5, at: "2026-11-20 09:00:00+10")
            try await insert(database, table, count: 4, at: "2026-11-20 09:00:00+10")
            try await insert(database, table, count: 2, at: "2026-11-20 10:00:00+10")
            var source = SQLWatermarkSource(query: "SELECT id, meter_id, nmi, reading_date, reading, updated_at FROM \(table)",
                                            watermarkColumn: "updated_at", tieBreakerColumn: "id")
            source.pageSize = 3
            var seen: [String] = []
            var watermark: SQLWatermark?
            // Two pages, then "crash": the watermark saved after the second page is where the next process starts.
            for _ in 0..<2 {
                let page = try await source.page(after: watermark, on: database)
                seen += page.rows.compactMap { $0["id"] }
                watermark = page.next
            }
            return (table, watermark, seen)
        }
        // A new process: a new pool, starting from the saved watermark.
        try await TestPostgres.withDatabase { restarted in
            var source = SQLWatermarkSource(query: "SELECT id, meter_id, nmi, reading_date, reading, updated_at FROM \(table)",
                                            watermarkColumn: "updated_at", tieBreakerColumn: "id")
            source.pageSize = 3
            var seen = seenBefore
            var watermark = watermark
            while true {
                let page = try await source.page(after: watermark, on: restarted)
                if page.rows.isEmpty { break }
                seen += page.rows.compactMap { $0["id"] }
                watermark = page.next
            }
            #expect(seen == (1...11).map(String.init))
            try await insert(restarted, table, count: 3, at: "2026-11-20 11:00:00+10")
            let later = try await source.page(after: watermark, on: restarted)
            #expect(later.rows.compactMap { $0["id"] } == ["12", "13", "14"])
            // numeric comes back as exact text, trailing zeros of its scale included; dates as PostgreSQL prints them.
            #expect(later.rows.first?["reading"] == "1.1250")
            #expect(later.rows.first?["reading_date"] == "2026-11-15")
        }
    }

    @Test("rows younger than the settle interval wait for the next poll")
    func settleInterval() async throws {
        try await TestPostgres.withDatabase { database in
            let table = try await makeTable(database)
            try await database.query("INSERT INTO \(table) (meter_id, nmi, reading_date, reading, updated_at) VALUES ('M', '6305000123', DATE '2026-11-15', 1, now())")
            var source = SQLWatermarkSource(query: "SELECT * FROM \(table)", watermarkColumn: "updated_at", tieBreakerColumn: "id")
            source.settleInterval = .seconds(60)
            #expect(try await source.page(after: nil, on: database).rows.isEmpty)
            source.settleInterval = .zero
            #expect(try await source.page(after: nil, on: database).rows.count == 1)
        }
    }

    @Test("values of any type read as PostgreSQL prints them: NULL, empty, quotes, commas, booleans, arrays")
    func printedValues() async throws {
        try await TestPostgres.withDatabase { database in
            let rows = try await database.records(of: "v", from: """
                (SELECT 1 AS id, NULL::text AS nothing, '' AS empty, 'say "hi", \\ (twice)' AS quoted, true AS yes,
                        ARRAY[1,2] AS numbers, TIMESTAMPTZ '2026-11-20 09:00:00+00' AS at) AS v
                """)
            #expect(rows.count == 1)
            #expect(rows[0].columns == ["id", "nothing", "empty", "quoted", "yes", "numbers", "at"])
            #expect(rows[0]["nothing"] == nil && rows[0].values[1] == nil)
            #expect(rows[0]["empty"] == "")
            #expect(rows[0]["quoted"] == #"say "hi", \ (twice)"#)
            #expect(rows[0]["yes"] == "t")
            #expect(rows[0]["numbers"] == "{1,2}")
            #expect(rows[0]["at"]?.hasPrefix("2026-11-20") == true)
        }
    }

    @Test("a bad query is a PostgreSQL error with its SQLSTATE, not a crash; an unreachable server fails the startup check at once")
    func badQuery() async throws {
        try await TestPostgres.withDatabase { database in
            let source = SQLWatermarkSource(query: "SELECT * FROM no_such_table", watermarkColumn: "updated_at", tieBreakerColumn: "id")
            do {
                _ = try await source.page(after: nil, on: database)
                Issue.record("a missing table was read")
            } catch let error as PostgresError {
                #expect(error.sqlState == "42P01")
                #expect(!error.isTransient)
            }
        }
        let unreachable = try PostgresPool(settings: try PostgresSettings(connectionString: "postgresql://billsync@127.0.0.1:1/billsync"),
                                           logger: TestKafka.logger)
        do {
            try await unreachable.check()
            Issue.record("an unreachable server passed the check")
        } catch let error as PostgresError {
            #expect(error.isTransient && error.sqlState == "08001", "\(error)")
        }
    }
}
