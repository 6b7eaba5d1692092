import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The process's one HTTP client: every call a worker, the CLI or a test makes to Salesforce,
/// the billing engine or an alert channel goes through it. async-http-client keeps a pool of
/// connections per host (reused between calls, bounded by `connectionsPerHost`), enforces a
/// deadline per request, and speaks TLS through NIO, so no second network stack (Foundation's
/// libcurl-based one) runs beside the workers' own.
///
/// A `Service`: the worker's service group runs it and, once the stages have drained, shuts the
/// client down (in-flight requests finish first).
public final class HTTPTransport: Service, Sendable {
    /// Timeouts and pool size, in one place for every caller.
    public struct Configuration: Sendable {
        /// Establishing a connection (TCP and TLS).
        public var connectTimeout: Duration = .seconds(10)
        /// A whole request, from sending to the last byte of the answer, unless the caller names its own.
        public var requestTimeout: Duration = .seconds(60)
        /// Connections kept per host: the most requests one process has in flight to one host.
        public var connectionsPerHost = 8
        /// An idle pooled connection is closed after this long.
        public var idleTimeout: Duration = .seconds(60)
        /// An answer larger than this is refused rather than held in memory.
        public var maximumResponseBytes = 256 << 20

        public init() {}
    }

    public let configuration: Configuration
    let client: HTTPClient

    /// For a command or a test: lives as long as the process and is never shut down. A worker
    /// uses its service group's own instead (`WorkerContext.http`).
    public static let shared = HTTPTransport()

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        var settings = HTTPClient.Configuration()
        settings.timeout = .init(connect: .nanoseconds(configuration.connectTimeout.nanoseconds),
                                 read: .nanoseconds(configuration.requestTimeout.nanoseconds))
        settings.connectionPool = .init(idleTimeout: .nanoseconds(configuration.idleTimeout.nanoseconds),
                                        concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.connectionsPerHost)
        settings.redirectConfiguration = .disallow
        settings.decompression = .enabled(limit: .ratio(100))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: settings)
    }

    /// Runs until the service group shuts down, then closes the pool.
    public func run() async throws {
        try? await gracefulShutdown()
        try await shutdown()
    }

    /// Closes every connection; calls after it fail. For a transport not run by a service group
    /// (a command, a test).
    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// One request, answered in full (status, headers, body), within `timeout` (the
    /// configuration's `requestTimeout` by default). Fails with `HTTPTransportError` when no
    /// answer came: a refused connection, a timeout, an answer too large.
    public func send(_ method: String, _ url: URL, headers: [(String, String)] = [], body: [UInt8]? = nil,
                     timeout: Duration? = nil) async throws(HTTPTransportError) -> HTTPAnswer {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let deadline = timeout ?? configuration.requestTimeout
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(deadline.nanoseconds))
            let buffer = try await response.body.collect(upTo: configuration.maximumResponseBytes)
            return HTTPAnswer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                              body: Array(buffer.readableBytesView))
        } catch {
            throw HTTPTransportError(method: method, url: url, underlying: error)
        }
    }
}

/// An answer in full.
public struct HTTPAnswer: Sendable {
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of a header, its name compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
    public var data: Data { Data(body) }
}

/// No answer came. Says where (method, scheme, host and path: never the query, which may carry
/// a token) and why.
public struct HTTPTransportError: Error, CustomStringConvertible {
    public let method: String
    public let url: URL
    public let underlying: any Error

    public var description: String {
        let place = "\(url.scheme ?? "http")://\(url.host ?? "")\(url.port.map { ":\($0)" } ?? "")\(url.path)"
        return "\(method) \(place): \(reason)"
    }

    /// Why, in words that name neither the URL nor anything sent (a webhook's path is a secret).
    public var reason: String {
        if let client = underlying as? HTTPClientError {
            switch client {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout:
                return "the request timed out"
            case .remoteConnectionClosed: return "the connection was lost"
            case .cancelled: return "the request was cancelled"
            default: return "the request failed (\(client.shortDescription))"
            }
        }
        if underlying is CancellationError { return "the request was cancelled" }
        if underlying is NIOTooManyBytesError { return "the answer was too large" }
        if underlying is NIOConnectionError { return "could not connect to the host" }
        return "could not connect (\(type(of: underlying)))"
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
