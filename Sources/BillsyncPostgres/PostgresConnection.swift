import CLibPQ
import Dispatch
import Foundation

/// Why a PostgreSQL call failed, with the server's SQLSTATE when there is one.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let sqlState: String?
    public var description: String { sqlState.map { "PostgreSQL \($0): \(message)" } ?? "PostgreSQL: \(message)" }

    /// Connection failures, serialisation failures and deadlocks are worth retrying.
    public var isTransient: Bool {
        guard let sqlState else { return true }
        return sqlState.hasPrefix("08") || sqlState == "40001" || sqlState == "40P01" || sqlState.hasPrefix("57P")
    }
}

/// One row of a result: text values by column, nil for SQL NULL.
public struct PostgresRow: Sendable {
    public let columns: [String]
    public let values: [String?]

    public subscript(_ column: String) -> String? {
        columns.firstIndex(of: column).flatMap { values[$0] }
    }
}

/// One libpq connection, owned by this object (closed in `deinit`). libpq blocks, so every call
/// runs on the connection's own serial queue, never on Swift's cooperative pool; calls from
/// several tasks are therefore also serialised, as one connection requires.
extension PostgresConnection {
    /// A quoted SQL identifier: configured table and column names are never interpolated raw.
    public static func quoted(identifier name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

public final class PostgresConnection: @unchecked Sendable {
    // @unchecked: `connection` is only touched on `queue`.
    private let connection: OpaquePointer
    private let queue = DispatchQueue(label: "billsync.postgres.connection")

    /// Connects with a libpq URL or keyword string; the password, if any, belongs in the URL's
    /// environment (PGPASSWORD) or a passfile, never in argv. Blocks until connected: from a
    /// task, use `connect(url:)`.
    public init(url: String) throws {
        guard let connection = PQconnectdb(url) else { throw PostgresError(message: "out of memory", sqlState: nil) }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(connection)
            throw PostgresError(message: message, sqlState: "08001")
        }
        self.connection = connection
    }

    deinit {
        PQfinish(connection)
    }

    /// Connects without blocking the calling task's thread: libpq's connect waits for the
    /// server (DNS, TCP, TLS, authentication), so it runs on a queue of its own.
    public static func connect(url: String) async throws -> PostgresConnection {
        try await withCheckedThrowingContinuation { continuation in
            connectQueue.async { continuation.resume(with: Result { try PostgresConnection(url: url) }) }
        }
    }

    private static let connectQueue = DispatchQueue(label: "billsync.postgres.connect", attributes: .concurrent)

    /// Runs one statement with text parameters ($1, $2, …) and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) async throws -> [PostgresRow] {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                continuation.resume(with: Result { try Self.run(self.connection, sql, parameters) })
            }
        }
    }

    private static func run(_ connection: OpaquePointer, _ sql: String, _ parameters: [String?]) throws -> [PostgresRow] {
        // strdup'd copies live until PQexecParams returns.
        let values = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { values.forEach { free($0) } }
        let pointers = values.map { UnsafePointer<CChar>($0) }
        guard let result = pointers.withUnsafeBufferPointer({ buffer in
            PQexecParams(connection, sql, Int32(parameters.count), nil, buffer.baseAddress, nil, nil, 0)
        }) else {
            throw PostgresError(message: String(cString: PQerrorMessage(connection)), sqlState: "08006")
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            break
        default:
            let message = String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            throw PostgresError(message: message, sqlState: state)
        }
        let columnCount = PQnfields(result)
        let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
        return (0..<PQntuples(result)).map { row in
            PostgresRow(columns: columns, values: (0..<columnCount).map { column in
                PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
            })
        }
    }
}
