import Foundation
import Logging
import PostgresNIO

/// One connection leased from a `PostgresPool` for a closure's duration (a transaction's
/// statements must share one). Only valid inside that closure.
public struct PostgresSession: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    /// Runs one statement with bound parameters ($1, $2, …) and returns its rows as text (see
    /// `PostgresTextRow(binary:)` for the types it reads; cast others to text).
    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresValue] = []) async throws -> [PostgresTextRow] {
        do {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: try PostgresBindings(parameters)), logger: logger)
            var result: [PostgresTextRow] = []
            for try await row in rows { result.append(try PostgresTextRow(binary: row)) }
            return result
        } catch {
            throw PostgresError(error)
        }
    }

    /// Every column of the relation `alias` in `clause` (`FROM` without the keyword: `(SELECT …)
    /// AS source WHERE … ORDER BY … LIMIT …`), as PostgreSQL prints it (the text libpq returns),
    /// whatever its type: `numeric(14,4)` keeps its scale (`1.1250`), a `timestamptz` reads as
    /// in the session's time zone. Each row also comes back as one record
    /// (`ROW(alias.*)::text`), split here; the column names come from the same statement.
    public func records(of alias: String, from clause: String, _ parameters: [PostgresValue] = []) async throws -> [PostgresTextRow] {
        let relation = Self.quoted(identifier: alias)
        let sql = "SELECT ROW(\(relation).*)::text AS billsync_record, \(relation).* FROM \(clause)"
        do {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: try PostgresBindings(parameters)), logger: logger)
            var result: [PostgresTextRow] = []
            for try await row in rows {
                let cells = Array(row)
                guard let record = try cells.first.flatMap({ try PostgresTextRow.text(of: $0) }) else {
                    throw PostgresError(message: "a row came back without its record", sqlState: nil)
                }
                let columns = cells.dropFirst().map(\.columnName)
                let values = try PostgresTextRow.fields(ofRecord: record)
                guard values.count == columns.count else {
                    throw PostgresError(message: "a record has \(values.count) fields for \(columns.count) columns", sqlState: nil)
                }
                result.append(PostgresTextRow(columns: columns, values: values))
            }
            return result
        } catch {
            throw PostgresError(error)
        }
    }
}

extension PostgresSession {
    /// A quoted SQL identifier: configured table and column names are never interpolated raw.
    public static func quoted(identifier name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
