import BillsyncContracts
import BillsyncSQLite
import Foundation

/// Remembers what was last sent for each CRM record, so a record whose mapped fields did not
/// change is not sent again (every upsert costs Salesforce API budget). Kept in SQLite, so it
/// survives restarts. A fingerprint is recorded only after the upsert was acknowledged by the
/// broker; a crash in between sends it once more, never less.
///
/// Each transformer instance keeps its own file: after partitions move between instances, the
/// new owner may send a record once more. That costs an API call, not correctness.
public final class ChangeSuppression: Sendable {
    private let database: SQLiteDatabase

    public init(path: String, busyTimeout: Duration = .seconds(5)) throws {
        database = try SQLiteDatabase(path: path, busyTimeout: busyTimeout)
        try database.execute("""
            CREATE TABLE IF NOT EXISTS sent_fields (object TEXT NOT NULL, external_id TEXT NOT NULL, field_set TEXT NOT NULL,
                                                    fingerprint TEXT NOT NULL, sent_at TEXT NOT NULL,
                                                    PRIMARY KEY (object, external_id, field_set));
            """)
    }

    /// A fingerprint of what an upsert would set (fields in a fixed order).
    public static func fingerprint(_ upsert: CRMUpsert) -> String {
        let fields = String(decoding: upsert.jsonValue()["fields"]?.serialized() ?? [], as: UTF8.self)
        return UUID(derivedFrom: "\(upsert.externalIdField)|\(fields)").uuidString
    }

    /// Which fields an upsert sets. Several mappings can write one CRM record (an account and
    /// its bill both update the Account); each is remembered on its own, or they would take turns
    /// overwriting each other's fingerprint and nothing would ever be suppressed reliably.
    static func fieldSet(_ upsert: CRMUpsert) -> String {
        upsert.fields.keys.sorted().joined(separator: ",")
    }

    /// False when exactly these fields were already sent for this record.
    public func isChanged(_ upsert: CRMUpsert) throws -> Bool {
        try isChanged(upsert, fingerprint: Self.fingerprint(upsert))
    }

    /// The same, with the fingerprint the caller already computed.
    public func isChanged(_ upsert: CRMUpsert, fingerprint: String) throws -> Bool {
        let rows = try database.query("SELECT fingerprint FROM sent_fields WHERE object = ? AND external_id = ? AND field_set = ?",
                                      [.text(upsert.object), .text(upsert.externalId), .text(Self.fieldSet(upsert))])
        return rows.first?.first?.text != fingerprint
    }

    /// Records upserts as sent; call once the broker acknowledged them.
    public func recordSent(_ upserts: [CRMUpsert]) throws {
        try recordSent(upserts.map { ($0, Self.fingerprint($0)) })
    }

    /// The same, with fingerprints the caller already computed.
    public func recordSent(_ upserts: [(upsert: CRMUpsert, fingerprint: String)]) throws {
        guard !upserts.isEmpty else { return }
        let now = Date().formatted(.iso8601)
        try database.transaction { transaction in
            for (upsert, fingerprint) in upserts {
                try transaction.query("""
                    INSERT OR REPLACE INTO sent_fields (object, external_id, field_set, fingerprint, sent_at) VALUES (?, ?, ?, ?, ?)
                    """, [.text(upsert.object), .text(upsert.externalId), .text(Self.fieldSet(upsert)), .text(fingerprint), .text(now)])
            }
        }
    }
}
