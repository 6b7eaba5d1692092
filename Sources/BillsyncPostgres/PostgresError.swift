import PostgresNIO

/// Why a PostgreSQL call failed, with the server's SQLSTATE when there is one. Made from
/// postgres-nio's errors with only the server's message (or the kind of failure): never the
/// query's parameters or the connection string.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let sqlState: String?
    public var description: String { sqlState.map { "PostgreSQL \($0): \(message)" } ?? "PostgreSQL: \(message)" }

    public init(message: String, sqlState: String?) {
        self.message = message
        self.sqlState = sqlState
    }

    /// Connection failures, a server shutting down, a cancelled statement (a timeout),
    /// serialisation failures and deadlocks are
    /// worth retrying; a refused statement or value is not.
    public var isTransient: Bool {
        guard let sqlState else { return true }
        return sqlState.hasPrefix("08") || sqlState == "40001" || sqlState == "40P01" || sqlState.hasPrefix("57P")
            || sqlState == "57014"
    }

    /// Any error a postgres-nio call threw, classified: the server's SQLSTATE and message, or a
    /// connection class (08001 could not connect, 08006 the connection broke or none could be
    /// had, 57P01 the pool was shut down with the worker).
    public init(_ error: any Error) {
        switch error {
        case let error as PostgresError:
            self = error
        case let error as PSQLError:
            switch error.code {
            case .server:
                let info = error.serverInfo
                let detail = info?[.detail].map { " (\($0))" } ?? ""
                self.init(message: (info?[.message] ?? "the server refused the statement") + detail, sqlState: info?[.sqlState])
            case .connectionError, .sslUnsupported, .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest,
                 .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
                let reason = error.underlying.map { ": \($0)" } ?? ""
                self.init(message: "cannot connect (\(error.code))\(reason)", sqlState: "08001")
            case .poolClosed, .clientClosedConnection:
                self.init(message: "the connection pool is closed (the worker is stopping)", sqlState: "57P01")
            case .queryCancelled:
                self.init(message: "the query was cancelled", sqlState: "57014")
            default:
                self.init(message: "the connection failed (\(error.code))", sqlState: "08006")
            }
        default:
            // The pool's own errors (no connection for a minute: its circuit breaker) and NIO's.
            self.init(message: "no connection: \(error)", sqlState: "08006")
        }
    }
}
