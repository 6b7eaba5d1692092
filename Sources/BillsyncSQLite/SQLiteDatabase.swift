import CSQLite
import Dispatch
import Foundation
import Synchronization

/// Why a SQLite call failed.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String
    public var description: String { "SQLite error \(code): \(message)" }
}

/// A value bound to or read from a statement.
public enum SQLiteValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// One SQLite database file, owned by this object (closed in `deinit`). Calls are serialised by a
/// lock; the emulators' request rates make that the simplest correct choice. Write-ahead logging
/// and `synchronous=NORMAL` keep what was acknowledged across a restart of the process.
public final class SQLiteDatabase: @unchecked Sendable {
    // @unchecked: the connection pointer is only used while holding `lock`.
    private let connection: OpaquePointer
    private let lock = Mutex<Void>(())
    /// Prepared statements by their SQL, kept for the connection's life (only used while holding
    /// `lock`): the emulators run the same few statements hundreds of thousands of times in a
    /// large run, and preparing one costs more than running it.
    private var statements: [String: OpaquePointer] = [:]

    /// `busyTimeout`: how long a statement waits for another connection's lock before failing.
    public init(path: String, busyTimeout: Duration = .seconds(5)) throws {
        var handle: OpaquePointer?
        let result = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil)
        guard result == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open \(path)"
            if let handle { sqlite3_close(handle) }
            throw SQLiteError(code: result, message: message)
        }
        connection = handle
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=NORMAL")
        sqlite3_busy_timeout(connection, Int32(busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000))
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close(connection)
    }

    /// Runs statements that return nothing.
    public func execute(_ sql: String) throws {
        try lock.withLock { _ in
            var error: UnsafeMutablePointer<CChar>?
            let result = sqlite3_exec(connection, sql, nil, nil, &error)
            defer { sqlite3_free(error) }
            guard result == SQLITE_OK else {
                throw SQLiteError(code: result, message: error.map { String(cString: $0) } ?? "failed")
            }
        }
    }

    /// Runs one statement with parameters and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        try lock.withLock { _ in try unlockedQuery(sql, parameters) }
    }

    /// Runs `body` in one transaction, rolled back if it throws.
    public func transaction<T>(_ body: (Transaction) throws -> T) throws -> T {
        try lock.withLock { _ in
            _ = try unlockedQuery("BEGIN IMMEDIATE", [])
            do {
                let result = try body(Transaction(database: self))
                _ = try unlockedQuery("COMMIT", [])
                return result
            } catch {
                _ = try? unlockedQuery("ROLLBACK", [])
                throw error
            }
        }
    }

    /// Statements inside a transaction (the lock is already held).
    public struct Transaction {
        let database: SQLiteDatabase

        @discardableResult
        public func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
            try database.unlockedQuery(sql, parameters)
        }
    }

    fileprivate func unlockedQuery(_ sql: String, _ parameters: [SQLiteValue]) throws -> [[SQLiteValue]] {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        // SQLite copies bound text immediately (SQLITE_TRANSIENT).
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (index, parameter) in parameters.enumerated() {
            let position = Int32(index + 1)
            switch parameter {
            case .null: sqlite3_bind_null(statement, position)
            case let .integer(value): sqlite3_bind_int64(statement, position, value)
            case let .real(value): sqlite3_bind_double(statement, position, value)
            case let .text(value): sqlite3_bind_text(statement, position, value, -1, transient)
            }
        }
        var rows: [[SQLiteValue]] = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else {
                throw SQLiteError(code: step, message: String(cString: sqlite3_errmsg(connection)))
            }
            var row: [SQLiteValue] = []
            for column in 0..<sqlite3_column_count(statement) {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: row.append(.integer(sqlite3_column_int64(statement, column)))
                case SQLITE_FLOAT: row.append(.real(sqlite3_column_double(statement, column)))
                case SQLITE_NULL: row.append(.null)
                default: row.append(.text(String(cString: sqlite3_column_text(statement, column))))
                }
            }
            rows.append(row)
        }
        return rows
    }
}

extension SQLiteDatabase {
    /// The statement for `sql`, prepared once (the lock is held).
    fileprivate func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(connection, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw SQLiteError(code: sqlite3_errcode(connection), message: String(cString: sqlite3_errmsg(connection)))
        }
        statements[sql] = statement
        return statement
    }
}

extension SQLiteValue {
    public var text: String? {
        if case let .text(value) = self { return value }
        return nil
    }

    public var integer: Int64? {
        if case let .integer(value) = self { return value }
        return nil
    }
}
