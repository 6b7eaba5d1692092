import Foundation
import PostgresNIO

/// Where and how to reach a PostgreSQL server, read from a libpq-style connection string:
/// a URL (`postgresql://user:password@host:5432/database?sslmode=require`) or key/value pairs
/// (`host=… port=… user=… password=… dbname=… sslmode=…`). The string is a secret (it may hold
/// the password): it comes from the environment or a file, and neither it nor the password is
/// ever part of a description or an error.
public struct PostgresSettings: Sendable {
    /// libpq's `sslmode`, as far as postgres-nio can honour it.
    public struct TLSMode: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        /// No TLS.
        public static let disable = TLSMode(name: "disable")
        /// TLS when the server offers it, else plain (libpq's default; `allow` is read as this).
        /// Like libpq, the server's certificate is not verified.
        public static let prefer = TLSMode(name: "prefer")
        /// TLS or no connection; the certificate is not verified (libpq's `require`).
        public static let require = TLSMode(name: "require")
        /// TLS with the certificate checked against the trusted roots, not the host name.
        public static let verifyCA = TLSMode(name: "verify-ca")
        /// TLS with the certificate and the host name checked.
        public static let verifyFull = TLSMode(name: "verify-full")

        public var description: String { name }

        static func parse(_ text: String) throws -> TLSMode {
            switch text {
            case "disable": .disable
            case "allow", "prefer": .prefer
            case "require": .require
            case "verify-ca": .verifyCA
            case "verify-full": .verifyFull
            default: throw PostgresError(message: "sslmode '\(text)' is not disable, allow, prefer, require, verify-ca or verify-full", sqlState: nil)
            }
        }
    }

    public var host: String
    public var port: Int
    public var username: String
    /// From the connection string, else `PGPASSWORD`.
    public var password: String?
    public var database: String?
    public var tls: TLSMode
    /// `sslrootcert`: a PEM file of trusted roots for `verify-ca` and `verify-full` (else the system's).
    public var trustedRoots: String?
    /// The pool's upper bound on open connections (`maximumConnections`, default 4: a worker
    /// runs one batch or page at a time, so a few are plenty).
    public var maximumConnections = 4
    public var connectTimeout: Duration = .seconds(10)

    /// Reads a connection string. `environment` supplies libpq's fallbacks: `PGPASSWORD`,
    /// `PGUSER`, `PGSSLMODE`.
    public init(connectionString text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let values = text.contains("://") ? try Self.urlValues(text) : try Self.keywordValues(text)
        host = values["host"] ?? "localhost"
        guard let port = Int(values["port"] ?? "5432"), (1...65_535).contains(port) else {
            throw PostgresError(message: "the connection string's port is not a port number", sqlState: nil)
        }
        self.port = port
        guard let user = values["user"] ?? environment["PGUSER"], !user.isEmpty else {
            throw PostgresError(message: "the connection string names no user (and PGUSER is not set)", sqlState: nil)
        }
        username = user
        password = values["password"] ?? environment["PGPASSWORD"]
        database = values["dbname"]
        tls = try TLSMode.parse(values["sslmode"] ?? environment["PGSSLMODE"] ?? "prefer")
        trustedRoots = values["sslrootcert"]
    }

    /// The pool's configuration.
    public func clientConfiguration() throws -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if host.hasPrefix("/") {
            configuration = .init(unixSocketPath: Self.socketPath(host, port), username: username, password: password, database: database)
        } else {
            let mode: PostgresClient.Configuration.TLS = switch tls {
            case .disable: .disable
            case .prefer: .prefer(try tlsConfiguration())
            default: .require(try tlsConfiguration())
            }
            configuration = .init(host: host, port: port, username: username, password: password, database: database, tls: mode)
        }
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }

    /// A single connection's configuration (the startup check, which must fail at once).
    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        if host.hasPrefix("/") {
            return .init(unixSocketPath: Self.socketPath(host, port), username: username, password: password, database: database)
        }
        let mode: PostgresConnection.Configuration.TLS = switch tls {
        case .disable: .disable
        case .prefer: .prefer(try NIOSSLContext(configuration: tlsConfiguration()))
        default: .require(try NIOSSLContext(configuration: tlsConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: username, password: password,
                                                             database: database, tls: mode)
        configuration.options.connectTimeout = .seconds(connectTimeout.components.seconds)
        return configuration
    }

    func tlsConfiguration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch tls {
        case .verifyFull: configuration.certificateVerification = .fullVerification
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        default: configuration.certificateVerification = .none
        }
        if let trustedRoots { configuration.trustRoots = .file(trustedRoots) }
        return configuration
    }

    /// libpq's socket file in a directory: `.s.PGSQL.<port>`.
    static func socketPath(_ directory: String, _ port: Int) -> String {
        directory.hasSuffix(".s.PGSQL.\(port)") ? directory : "\(directory)/.s.PGSQL.\(port)"
    }

    /// `postgresql://[user[:password]@][host][:port][/dbname][?key=value&…]`, percent-decoded.
    static func urlValues(_ text: String) throws -> [String: String] {
        guard let components = URLComponents(string: text), ["postgresql", "postgres"].contains(components.scheme ?? "") else {
            throw PostgresError(message: "the connection string is not a postgresql:// URL", sqlState: nil)
        }
        var values: [String: String] = [:]
        values["host"] = components.host.flatMap { $0.isEmpty ? nil : $0 }
        values["port"] = components.port.map(String.init)
        values["user"] = components.user?.removingPercentEncoding
        values["password"] = components.password?.removingPercentEncoding
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        values["dbname"] = path.isEmpty ? nil : path.removingPercentEncoding
        for item in components.queryItems ?? [] { values[item.name] = item.value ?? "" }
        return values
    }

    /// `key=value key='quoted value' …`, as libpq reads them (backslash escapes in quotes).
    static func keywordValues(_ text: String) throws -> [String: String] {
        var values: [String: String] = [:]
        var characters = Substring(text)
        while true {
            characters = characters.drop(while: \.isWhitespace)
            guard !characters.isEmpty else { return values }
            guard let equals = characters.firstIndex(of: "=") else {
                throw PostgresError(message: "the connection string is neither a URL nor key=value pairs", sqlState: nil)
            }
            let key = characters[..<equals].trimmingCharacters(in: .whitespaces)
            characters = characters[characters.index(after: equals)...].drop(while: \.isWhitespace)
            var value = ""
            if characters.first == "'" {
                characters = characters.dropFirst()
                while let character = characters.first, character != "'" {
                    characters = characters.dropFirst()
                    if character == "\\", let escaped = characters.first {
                        value.append(escaped)
                        characters = characters.dropFirst()
                    } else {
                        value.append(character)
                    }
                }
                guard characters.first == "'" else {
                    throw PostgresError(message: "a quoted value in the connection string is not closed", sqlState: nil)
                }
                characters = characters.dropFirst()
            } else {
                value = String(characters.prefix { !$0.isWhitespace })
                characters = characters.drop { !$0.isWhitespace }
            }
            values[key] = value
        }
    }
}
