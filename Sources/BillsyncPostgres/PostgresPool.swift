import Logging
import PostgresNIO
import ServiceLifecycle

/// A small pool of connections to one PostgreSQL server (postgres-nio's `PostgresClient`, at
/// most `PostgresSettings.maximumConnections`), shared by everything in a worker that talks to
/// that database. It works only while `run()` runs: a worker's driver hands it to the service
/// group (`WorkerDriver.services`), which starts it with the driver and shuts it down after the
/// driver stopped; `PostgresPool.withRunning` runs one around a closure (tools, tests).
///
/// Nothing here blocks a thread: postgres-nio speaks the protocol on SwiftNIO's event loops.
public final class PostgresPool: Service, Sendable {
    public let settings: PostgresSettings
    let client: PostgresClient
    let logger: Logger

    /// - Parameters:
    ///   - settings: the server, credentials, TLS mode and pool size.
    ///   - logger: for the pool's background events (connections failing, closing); never the
    ///     connection string or a statement's parameters.
    public init(settings: PostgresSettings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: logger)
    }

    /// Runs the pool until the service group shuts down (or the task is cancelled); then its
    /// connections close. Call once.
    public func run() async {
        await client.run()
    }

    /// Leases a connection for `body`. Failing to get one is a `PostgresError`; what `body`
    /// throws comes out as it was.
    public func withSession<Result: Sendable>(_ body: (PostgresSession) async throws -> Result) async throws -> Result {
        do {
            return try await client.withConnection { connection in
                do {
                    return try await body(PostgresSession(connection: connection, logger: logger))
                } catch {
                    throw ThrownByBody(error: error)
                }
            }
        } catch let thrown as ThrownByBody {
            throw thrown.error
        } catch {
            throw PostgresError(error)
        }
    }

    /// Carries an error of a session's closure past the lease's error mapping.
    struct ThrownByBody: Error {
        let error: any Error
    }

    /// Runs `body` in one transaction on one connection: committed when it returns, rolled back
    /// when it throws (its error is rethrown as it was). A connection whose rollback failed is
    /// closed, never handed back to the pool inside a transaction.
    public func withTransaction<Result: Sendable>(_ body: (PostgresSession) async throws -> Result) async throws -> Result {
        try await withSession { session in
            try await session.query("BEGIN")
            let result: Result
            do {
                result = try await body(session)
            } catch {
                do {
                    try await session.query("ROLLBACK")
                } catch {
                    try? await session.connection.close()
                }
                throw error
            }
            try await session.query("COMMIT")
            return result
        }
    }

    /// One statement on a leased connection (`PostgresSession.query`).
    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresValue] = []) async throws -> [PostgresTextRow] {
        try await withSession { try await $0.query(sql, parameters) }
    }

    /// Rows as PostgreSQL prints them (`PostgresSession.records`).
    public func records(of alias: String, from clause: String, _ parameters: [PostgresValue] = []) async throws -> [PostgresTextRow] {
        try await withSession { try await $0.records(of: alias, from: clause, parameters) }
    }

    /// Connects once, outside the pool, and runs `sql`: at startup, so a wrong address,
    /// password or TLS mode fails at once (the pool keeps retrying a server it cannot reach for
    /// a minute before it fails a statement).
    public func check(_ sql: String = "SELECT 1") async throws {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try settings.connectionConfiguration(), id: 0, logger: logger)
        } catch {
            throw PostgresError(error)
        }
        do {
            try await PostgresSession(connection: connection, logger: logger).query(sql)
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    /// Runs a pool around `body` and closes it after: for a tool or a test that is no service.
    public static func withRunning<Result: Sendable>(
        settings: PostgresSettings, logger: Logger, _ body: (PostgresPool) async throws -> Result
    ) async throws -> Result {
        let pool = try PostgresPool(settings: settings, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await pool.run() }
            defer { group.cancelAll() }
            return try await body(pool)
        }
    }
}
