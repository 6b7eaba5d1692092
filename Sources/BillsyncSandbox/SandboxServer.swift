import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The sandbox's HTTP server: the emulators' routes on one address.
public struct SandboxServer: Sendable {
    public let salesforce: SalesforceEmulator
    public let billing: BillingEngineEmulator?
    public let host: String
    public let port: Int

    public init(salesforce: SalesforceEmulator, billing: BillingEngineEmulator? = nil, host: String = "127.0.0.1", port: Int) {
        self.salesforce = salesforce
        self.billing = billing
        self.host = host
        self.port = port
    }

    /// The application, to run as a service (`run()` or in a `ServiceGroup`).
    public func application(logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.get("sandbox/healthz") { _, _ in "ok\n" }
        salesforce.addRoutes(to: router)
        billing?.addRoutes(to: router)
        return Application(router: router, configuration: .init(address: .hostname(host, port: port)), logger: logger)
    }
}

extension SandboxServer {
    /// Serves while `body` runs (tests, demos): waits until the server accepts connections,
    /// runs `body` with its base URL, then stops it gracefully. (Cancelling a Hummingbird server
    /// instead can trap in NIO when a connection was accepted but not yet served:
    /// apple/swift-nio#3481.)
    public func serving<T: Sendable>(logger: Logger, _ body: @Sendable (URL) async throws -> T) async throws -> T {
        let services = ServiceGroup(services: [application(logger: logger)], logger: logger)
        let base = URL(string: "http://\(host):\(port)")!
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            do {
                for _ in 0..<200 where !Self.accepts(host: host, port: port) {
                    try await Task.sleep(for: .milliseconds(25))
                }
                guard Self.accepts(host: host, port: port) else {
                    throw SandboxServerError(description: "the sandbox did not start listening on \(host):\(port)")
                }
                let result = try await body(base)
                await services.triggerGracefulShutdown()
                try await group.waitForAll()
                return result
            } catch {
                await services.triggerGracefulShutdown()
                try? await group.waitForAll()
                throw error
            }
        }
    }

    /// Whether a TCP connection to the address succeeds (no HTTP request, so no rate limit is touched).
    static func accepts(host: String, port: Int) -> Bool {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// A TCP port nobody listens on right now (the kernel's choice), for a server to start on.
    public static func freePort() -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

public struct SandboxServerError: Error, CustomStringConvertible {
    public let description: String
}
