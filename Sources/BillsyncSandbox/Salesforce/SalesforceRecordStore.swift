import BillsyncContracts
import BillsyncSQLite
import Foundation

/// One error as Salesforce reports it.
public struct SalesforceError: Error, Sendable, Hashable, Codable {
    public var message: String
    public var errorCode: String
    public var fields: [String]

    public init(_ errorCode: String, _ message: String, fields: [String] = []) {
        self.errorCode = errorCode
        self.message = message
        self.fields = fields
    }
}

/// What an upsert by external id did.
public enum SalesforceUpsertOutcome: Sendable, Hashable {
    case created(id: String)
    case updated(id: String)
    /// The external id matched several records (HTTP 300).
    case multipleMatches(ids: [String])
    /// Validation failed (HTTP 400).
    case failed([SalesforceError])
    /// Unknown object, or the field is not an external id (HTTP 404).
    case notFound(SalesforceError)
}

/// Records of the emulated org in SQLite, so they survive a restart; tests and the demo read
/// them back here without going through the emulated API's limits.
public final class SalesforceRecordStore: Sendable {
    public let org: SalesforceOrg
    private let database: SQLiteDatabase

    public init(org: SalesforceOrg, path: String) throws {
        self.org = org
        database = try SQLiteDatabase(path: path)
        try database.execute("""
            CREATE TABLE IF NOT EXISTS records (
                id TEXT PRIMARY KEY, object TEXT NOT NULL, fields TEXT NOT NULL,
                created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS external_keys (
                object TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL COLLATE NOCASE, id TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS external_keys_lookup ON external_keys (object, field, value);
            CREATE TABLE IF NOT EXISTS counters (object TEXT PRIMARY KEY, next INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS creations (
                object TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL COLLATE NOCASE, id TEXT NOT NULL);
            """)
    }

    /// Checks fields against the object's definition, as the REST API does before writing.
    public func validate(_ fields: [String: SalesforceValue], of object: SalesforceOrg.Object, creating: Bool) -> [SalesforceError] {
        var errors: [SalesforceError] = []
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            guard let field = object.fields[name] else {
                errors.append(SalesforceError("INVALID_FIELD", "No such column '\(name)' on sobject of type \(object.name)", fields: [name]))
                continue
            }
            switch (field.type, value) {
            case (_, .null):
                if field.required {
                    errors.append(SalesforceError("REQUIRED_FIELD_MISSING", "Required fields are missing: [\(name)]", fields: [name]))
                }
            case let (.text(maxLength), .text(text)):
                if text.count > maxLength {
                    errors.append(SalesforceError("STRING_TOO_LONG", "\(name): data value too large: \(text.prefix(40)) (max length=\(maxLength))", fields: [name]))
                }
            case let (.email, .text(text)):
                if text.range(of: #"^[^@\s]+@[^@\s]+\.[^@\s]+$"#, options: .regularExpression) == nil {
                    errors.append(SalesforceError("INVALID_EMAIL_ADDRESS", "\(name): invalid email address: \(text)", fields: [name]))
                }
            case (.phone, .text), (.currency, .number), (.number, .number), (.checkbox, .bool):
                break
            case let (.date, .text(text)):
                if text.range(of: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"#, options: .regularExpression) == nil {
                    errors.append(SalesforceError("INVALID_TYPE_ON_FIELD_IN_RECORD", "\(name): value not of required type: \(text)", fields: [name]))
                }
            default:
                errors.append(SalesforceError("INVALID_TYPE_ON_FIELD_IN_RECORD", "\(name): value not of required type", fields: [name]))
            }
        }
        if creating {
            let missing = object.fields.values.filter { $0.required && fields[$0.name] == nil }.map(\.name).sorted()
            if !missing.isEmpty {
                errors.append(SalesforceError("REQUIRED_FIELD_MISSING", "Required fields are missing: [\(missing.joined(separator: ", "))]", fields: missing))
            }
        }
        if errors.isEmpty, let rule = object.validation?(fields) {
            errors.append(SalesforceError("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message, fields: rule.fields))
        }
        return errors
    }

    /// Creates or updates the record whose `externalField` is `externalValue`; all in one transaction.
    public func upsert(object name: String, externalField: String, externalValue: String,
                       fields: [String: SalesforceValue]) throws -> SalesforceUpsertOutcome {
        guard let object = org.objects[name] else {
            return .notFound(SalesforceError("NOT_FOUND", "The requested resource does not exist"))
        }
        guard object.fields[externalField]?.externalID == true else {
            return .notFound(SalesforceError("NOT_FOUND", "Provided external ID field does not exist or is not accessible: \(externalField)"))
        }
        return try database.transaction { transaction in
            try upsert(in: transaction, object: object, externalField: externalField, externalValue: externalValue, fields: fields)
        }
    }

    /// Upserts several records of one object in one transaction (sObject Collections). With
    /// `allOrNone`, one failure writes nothing and the others report the roll-back.
    public func upsertAll(object name: String, externalField: String, records: [(externalValue: String, fields: [String: SalesforceValue])],
                          allOrNone: Bool) throws -> [SalesforceUpsertOutcome] {
        guard let object = org.objects[name], object.fields[externalField]?.externalID == true else {
            let outcome = try upsert(object: name, externalField: externalField, externalValue: "", fields: [:])
            return records.map { _ in outcome }
        }
        struct RolledBack: Error { let outcomes: [SalesforceUpsertOutcome] }
        do {
            return try database.transaction { transaction in
                var outcomes: [SalesforceUpsertOutcome] = []
                for record in records {
                    outcomes.append(try upsert(in: transaction, object: object, externalField: externalField,
                                               externalValue: record.externalValue, fields: record.fields))
                }
                if allOrNone, outcomes.contains(where: { if case .created = $0 { false } else if case .updated = $0 { false } else { true } }) {
                    throw RolledBack(outcomes: outcomes)
                }
                return outcomes
            }
        } catch let rolledBack as RolledBack {
            return rolledBack.outcomes.map { outcome in
                switch outcome {
                case .created, .updated:
                    .failed([SalesforceError("ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all records were valid and the request was using AllOrNone header")])
                default: outcome
                }
            }
        }
    }

    private func upsert(in transaction: SQLiteDatabase.Transaction, object: SalesforceOrg.Object, externalField: String,
                        externalValue: String, fields: [String: SalesforceValue]) throws -> SalesforceUpsertOutcome {
        let name = object.name
        var fields = fields
        fields[externalField] = .text(externalValue)
        do {
            let matches = try transaction.query("SELECT id FROM external_keys WHERE object = ? AND field = ? AND value = ?",
                                                [.text(name), .text(externalField), .text(externalValue)]).compactMap { $0.first?.text }
            if matches.count > 1 { return .multipleMatches(ids: matches.sorted()) }
            let existing = try matches.first.map { id in
                try transaction.query("SELECT fields FROM records WHERE id = ?", [.text(id)]).first?.first?.text
            } ?? nil
            let errors = validate(fields, of: object, creating: existing == nil)
            guard errors.isEmpty else { return .failed(errors) }
            var merged = try existing.map { try JSONDecoder().decode([String: SalesforceValue].self, from: Data($0.utf8)) } ?? [:]
            merged.merge(fields) { _, new in new }
            for field in object.fields.values where field.unique {
                guard let value = merged[field.name], case let .text(text) = value, field.name != externalField else { continue }
                let clash = try transaction.query("SELECT id FROM external_keys WHERE object = ? AND field = ? AND value = ? AND id != ?",
                                                  [.text(name), .text(field.name), .text(text), .text(matches.first ?? "")])
                if let other = clash.first?.first?.text {
                    return .failed([SalesforceError("DUPLICATE_VALUE", "duplicate value found: \(field.name) duplicates value on record with id: \(other)", fields: [field.name])])
                }
            }
            let json = String(decoding: try JSONEncoder().encode(merged), as: UTF8.self)
            let now = Timestamp.now.text
            let id: String
            if let current = matches.first {
                id = current
                try transaction.query("UPDATE records SET fields = ?, updated_at = ? WHERE id = ?", [.text(json), .text(now), .text(id)])
                try transaction.query("DELETE FROM external_keys WHERE id = ?", [.text(id)])
            } else {
                let next = try transaction.query("SELECT next FROM counters WHERE object = ?", [.text(name)]).first?.first?.integer ?? 1
                try transaction.query("INSERT OR REPLACE INTO counters (object, next) VALUES (?, ?)", [.text(name), .integer(next + 1)])
                id = SalesforceID.make(prefix: object.keyPrefix, sequence: next)
                try transaction.query("INSERT INTO records (id, object, fields, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                                      [.text(id), .text(name), .text(json), .text(now), .text(now)])
                // Every create, kept: a second create for the same external id is a duplicate
                // the record count alone would not show.
                try transaction.query("INSERT INTO creations (object, field, value, id) VALUES (?, ?, ?, ?)",
                                      [.text(name), .text(externalField), .text(externalValue), .text(id)])
            }
            for field in object.fields.values where field.externalID || field.unique {
                if case let .text(text)? = merged[field.name] {
                    try transaction.query("INSERT INTO external_keys (object, field, value, id) VALUES (?, ?, ?, ?)",
                                          [.text(name), .text(field.name), .text(text), .text(id)])
                }
            }
            return matches.isEmpty ? .created(id: id) : .updated(id: id)
        }
    }

    /// External ids of `object` created more than once (a loader that created a record twice,
    /// or a record deleted and created again), read directly.
    public func duplicateCreates(object: String) throws -> Int {
        Int(try database.query("""
            SELECT COUNT(*) FROM (SELECT 1 FROM creations WHERE object = ? GROUP BY field, value HAVING COUNT(*) > 1)
            """, [.text(object)]).first?.first?.integer ?? 0)
    }

    /// Creates of `object` in all, and the distinct external ids they were for, read directly.
    public func creates(object: String) throws -> (creates: Int, externalIds: Int) {
        let row = try database.query("SELECT COUNT(*), COUNT(DISTINCT field || ':' || lower(value)) FROM creations WHERE object = ?",
                                     [.text(object)]).first
        return (Int(row?[0].integer ?? 0), Int(row?[1].integer ?? 0))
    }

    /// Records per object, read directly (no API limits).
    public func count(object: String) throws -> Int {
        Int(try database.query("SELECT COUNT(*) FROM records WHERE object = ?", [.text(object)]).first?.first?.integer ?? 0)
    }

    /// A record by external id, read directly: its id and fields.
    public func record(object: String, externalField: String, value: String) throws -> (id: String, fields: [String: SalesforceValue])? {
        let rows = try database.query("""
            SELECT r.id, r.fields FROM external_keys k JOIN records r ON r.id = k.id
            WHERE k.object = ? AND k.field = ? AND k.value = ?
            """, [.text(object), .text(externalField), .text(value)])
        guard let row = rows.first, let id = row[0].text, let json = row[1].text else { return nil }
        return (id, try JSONDecoder().decode([String: SalesforceValue].self, from: Data(json.utf8)))
    }

    /// Every record whose `externalField` is `value` (several when the field is not unique),
    /// with when each was created and last modified, as the REST API's GET by external id reads them.
    public func records(object: String, externalField: String, value: String) throws -> [SalesforceStoredRecord] {
        try database.query("""
            SELECT r.id, r.fields, r.created_at, r.updated_at FROM external_keys k JOIN records r ON r.id = k.id
            WHERE k.object = ? AND k.field = ? AND k.value = ? ORDER BY r.id
            """, [.text(object), .text(externalField), .text(value)]).compactMap { row in
            guard let id = row[0].text, let json = row[1].text, let created = row[2].text, let updated = row[3].text else { return nil }
            return SalesforceStoredRecord(id: id, fields: try JSONDecoder().decode([String: SalesforceValue].self, from: Data(json.utf8)),
                                          createdAt: created, updatedAt: updated)
        }
    }
}


/// Salesforce record ids: a three-character object prefix, a base-62 number, and the
/// three-character suffix that makes the id case-insensitive-safe (18 characters).
public enum SalesforceID {
    static let base62 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    static let suffixAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")

    public static func make(prefix: String, sequence: Int64) -> String {
        var digits: [Character] = []
        var value = sequence
        for _ in 0..<12 {
            digits.append(base62[Int(value % 62)])
            value /= 62
        }
        let fifteen = prefix + String(digits.reversed())
        return fifteen + suffix(for: fifteen)
    }

    /// For each five-character chunk, a bit per upper-case letter selects one suffix character.
    public static func suffix(for id: String) -> String {
        let characters = Array(id)
        return String((0..<3).map { chunk in
            var bits = 0
            for position in 0..<5 where characters[chunk * 5 + position].isUppercase {
                bits |= 1 << position
            }
            return suffixAlphabet[bits]
        })
    }

    /// A 15- or 18-character id with a correct suffix.
    public static func isValid(_ id: String) -> Bool {
        guard id.count == 15 || id.count == 18, id.allSatisfy({ base62.contains($0) }) else { return false }
        return id.count == 15 || String(id.suffix(3)) == suffix(for: String(id.prefix(15)))
    }
}
