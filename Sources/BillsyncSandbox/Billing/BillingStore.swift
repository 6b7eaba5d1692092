import BillsyncContracts
import BillsyncSQLite
import Foundation

/// The emulated billing engine's data: records per entity with the time they last changed
/// (for incremental export), and what was uploaded to it (meter readings, CRM-side changes).
public final class BillingStore: Sendable {
    public static let entities = ["accounts", "contacts", "premises", "bills", "meter-readings", "tariffs"]
    public static let uploadKinds = ["meter-readings", "customer-changes"]
    private let database: SQLiteDatabase

    public init(path: String) throws {
        database = try SQLiteDatabase(path: path)
        try database.execute("""
            CREATE TABLE IF NOT EXISTS billing_records (
                entity TEXT NOT NULL, key TEXT NOT NULL, updated_at TEXT NOT NULL, sequence INTEGER NOT NULL,
                record TEXT NOT NULL, PRIMARY KEY (entity, key));
            CREATE INDEX IF NOT EXISTS billing_records_changes ON billing_records (entity, updated_at, sequence);
            CREATE TABLE IF NOT EXISTS uploads (
                kind TEXT NOT NULL, key TEXT NOT NULL, record TEXT NOT NULL, received_at TEXT NOT NULL,
                PRIMARY KEY (kind, key));
            """)
    }

    /// Inserts or replaces records (the generator's load, or a change in the billing engine).
    public func put(entity: String, records: [(key: String, updatedAt: String, json: String)]) throws {
        try database.transaction { transaction in
            var sequence = try transaction.query("SELECT COALESCE(MAX(sequence), 0) FROM billing_records").first?.first?.integer ?? 0
            for record in records {
                sequence += 1
                try transaction.query("INSERT OR REPLACE INTO billing_records (entity, key, updated_at, sequence, record) VALUES (?, ?, ?, ?, ?)",
                                      [.text(entity), .text(record.key), .text(record.updatedAt), .integer(sequence), .text(record.json)])
            }
        }
    }

    /// A page of records changed at or after `updatedSince`, in change order, after `cursor`.
    public func page(entity: String, updatedSince: String?, cursor: Int64?, size: Int) throws -> (records: [String], next: Int64?) {
        let rows = try database.query("""
            SELECT sequence, record FROM billing_records
            WHERE entity = ? AND updated_at >= ? AND sequence > ?
            ORDER BY sequence LIMIT ?
            """, [.text(entity), .text(updatedSince ?? ""), .integer(cursor ?? 0), .integer(Int64(size + 1))])
        let more = rows.count > size
        let page = rows.prefix(size)
        return (page.compactMap { $0[1].text }, more ? page.last?[0].integer : nil)
    }

    public func count(entity: String) throws -> Int {
        Int(try database.query("SELECT COUNT(*) FROM billing_records WHERE entity = ?", [.text(entity)]).first?.first?.integer ?? 0)
    }

    /// Stores an uploaded record under its idempotency key; true when it was new.
    public func upload(kind: String, key: String, json: String) throws -> Bool {
        try database.transaction { transaction in
            let existed = try !transaction.query("SELECT 1 FROM uploads WHERE kind = ? AND key = ?", [.text(kind), .text(key)]).isEmpty
            try transaction.query("INSERT OR REPLACE INTO uploads (kind, key, record, received_at) VALUES (?, ?, ?, ?)",
                                  [.text(kind), .text(key), .text(json), .text(Timestamp.now.text)])
            return !existed
        }
    }

    public func uploadCount(kind: String) throws -> Int {
        Int(try database.query("SELECT COUNT(*) FROM uploads WHERE kind = ?", [.text(kind)]).first?.first?.integer ?? 0)
    }
}
