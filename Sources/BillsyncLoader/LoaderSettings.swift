import BillsyncRuntime
import BillsyncSalesforce
import Foundation

/// The loader's own settings beside the runtime's, from the environment.
public struct LoaderSettings: Sendable {
    public var loginURL = URL(string: "https://login.salesforce.com")!
    /// The JWT audience; https://test.salesforce.com for sandboxes.
    public var audience = "https://login.salesforce.com"
    /// Of the org's daily API limit, the share the loader may use.
    public var budgetShare = 0.8
    /// How often a paused loader asks Salesforce whether it may resume.
    public var probeInterval: Duration = .seconds(60)
    /// Records of one object in one batch from which a Bulk API 2.0 job is used.
    public var bulkThreshold = 5_000
    /// Salesforce calls in flight at once from this loader (BILLSYNC_LOADER_CALLS_IN_FLIGHT,
    /// 1–20): well under the org's 25 concurrent long-running requests, which every
    /// integration of the org shares.
    public var callsInFlight = 4
    /// The billing engine's base URL, for the billing sink.
    public var billingURL: URL?
    /// Connections the PostgreSQL sink's pool may open (BILLSYNC_LOADER_POSTGRES_CONNECTIONS).
    public var postgresConnections = 4

    public init() {}

    /// SALESFORCE_LOGIN_URL, SALESFORCE_AUDIENCE, BILLSYNC_LOADER_BUDGET_SHARE (0.05–1),
    /// BILLSYNC_LOADER_PROBE_SECONDS.
    public init(environment: [String: String]) throws {
        let org = try SalesforceOrgSettings(environment: environment)
        loginURL = org.loginURL
        audience = org.audience
        budgetShare = org.budgetShare
        if let text = environment["BILLSYNC_LOADER_PROBE_SECONDS"] {
            guard let seconds = Double(text), seconds > 0 else {
                throw SalesforceError.configuration("BILLSYNC_LOADER_PROBE_SECONDS '\(text)' is not a positive number")
            }
            probeInterval = .milliseconds(Int(seconds * 1000))
        }
        if let text = environment["BILLSYNC_LOADER_BILLING_URL"] {
            guard let url = URL(string: text), url.scheme == "https" || url.scheme == "http" else {
                throw SalesforceError.configuration("BILLSYNC_LOADER_BILLING_URL '\(text)' is not an http(s) URL")
            }
            billingURL = url
        }
        if let text = environment["BILLSYNC_LOADER_CALLS_IN_FLIGHT"] {
            guard let calls = Int(text), (1...20).contains(calls) else {
                throw SalesforceError.configuration("BILLSYNC_LOADER_CALLS_IN_FLIGHT '\(text)' is not a number of calls from 1 to 20")
            }
            callsInFlight = calls
        }
        if let text = environment["BILLSYNC_LOADER_POSTGRES_CONNECTIONS"] {
            guard let connections = Int(text), (1...100).contains(connections) else {
                throw SalesforceError.configuration("BILLSYNC_LOADER_POSTGRES_CONNECTIONS '\(text)' is not a number of connections from 1 to 100")
            }
            postgresConnections = connections
        }
        if let text = environment["BILLSYNC_LOADER_BULK_THRESHOLD"] {
            guard let threshold = Int(text), threshold >= 200 else {
                throw SalesforceError.configuration("BILLSYNC_LOADER_BULK_THRESHOLD '\(text)' is not a number of records of at least 200")
            }
            bulkThreshold = threshold
        }
    }

    public func billingToken(_ environment: [String: String]) throws -> String? {
        try Secrets.read("BILLSYNC_LOADER_BILLING_TOKEN", from: environment)
    }

    public func postgresURL(_ environment: [String: String]) throws -> String? {
        try Secrets.read("BILLSYNC_LOADER_POSTGRES_URL", from: environment)
    }

    public var printable: String {
        "  loginURL: \(loginURL.absoluteString)\n  audience: \(audience)\n  budgetShare: \(budgetShare)\n  probeInterval: \(probeInterval)\n  bulkThreshold: \(bulkThreshold)"
    }
}
