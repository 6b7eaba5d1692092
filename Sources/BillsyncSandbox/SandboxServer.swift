import Hummingbird
import Logging

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
