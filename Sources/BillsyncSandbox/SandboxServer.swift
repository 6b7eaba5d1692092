import Foundation
import Synchronization
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

    /// The application, to run as a service (`run()` or in a `ServiceGroup`). Once it listens,
    /// the Salesforce emulator learns its address (its instance URL, unless one is configured)
    /// and `onListening` gets the port: the kernel's choice when `port` is 0.
    public func application(logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.get("sandbox/healthz") { _, _ in "ok\n" }
        salesforce.addRoutes(to: router)
        billing?.addRoutes(to: router)
        let (host, port, salesforce) = (host, port, salesforce)
        return Application(router: router, configuration: .init(address: .hostname(host, port: port)),
                           onServerRunning: { channel in
                               let listening = channel.localAddress?.port ?? port
                               salesforce.listens(at: URL(string: "http://\(host):\(listening)")!)
                               await onListening(listening)
                           }, logger: logger)
    }
}

extension SandboxServer {
    /// Serves while `body` runs (tests, demos): waits until the server listens, runs `body` with
    /// its base URL, then stops it gracefully. With port 0 the kernel chooses a free port as the
    /// server binds, so two servers started at once can never be handed the same one; the
    /// Salesforce emulator then names that address as its instance URL. (Cancelling a
    /// Hummingbird server instead of stopping it can trap in NIO when a connection was accepted
    /// but not yet served: apple/swift-nio#3481.)
    public func serving<T: Sendable>(logger: Logger, _ body: @Sendable (URL) async throws -> T) async throws -> T {
        let (listening, announce) = AsyncStream.makeStream(of: Int.self)
        let services = ServiceGroup(services: [application(logger: logger) { port in
            announce.yield(port)
            announce.finish()
        }], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // A server that fails to bind ends the wait below with its error.
                defer { announce.finish() }
                try await services.run()
            }
            do {
                var ports = listening.makeAsyncIterator()
                guard let port = await ports.next() else {
                    try await group.next()
                    throw SandboxServerError(description: "the sandbox stopped before it listened on \(host):\(self.port)")
                }
                let result = try await body(URL(string: "http://\(host):\(port)")!)
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

    /// A TCP port nobody listens on right now (the kernel's choice), for a server in another
    /// process, which cannot be handed a bound socket. Never the same port twice in one process:
    /// the kernel may offer a port again once the probe closes, and two servers of a parallel
    /// test run would then race for it. A server in this process binds port 0 instead.
    public static func freePort() -> Int {
        while true {
            let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) } }
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
            let port = Int(UInt16(bigEndian: address.sin_port))
            if handedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
    }

    private static let handedOut = Mutex<Set<Int>>([])
}

public struct SandboxServerError: Error, CustomStringConvertible {
    public let description: String
}
