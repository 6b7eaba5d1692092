import Foundation

/// How the emulated org behaves: credentials, its My Domain, token lifetime, API limits, Bulk
/// API pace and injected faults.
public struct SalesforceEmulatorConfiguration: Sendable {
    public var clientID = "billsync-sandbox"
    /// From `BILLSYNC_SANDBOX_SF_CLIENT_SECRET` in the CLI; never logged.
    public var clientSecret = "sandbox-secret"
    public var username = "integration@billsync.example"
    /// PEM public key (or certificate) that verifies JWT bearer assertions.
    public var jwtPublicKeyPEM: String?
    /// Where API calls go, as the token response says. Nil: the address the sandbox server
    /// listens on, which a server on a kernel-chosen port learns only once it listens.
    public var instanceURL: String?
    /// The `aud` a JWT assertion must name.
    public var loginURL = "https://login.salesforce.com"
    /// The org's My Domain host. Salesforce grants the client credentials flow only on the org's
    /// My Domain, never on login.salesforce.com or test.salesforce.com; the emulator takes a token
    /// request as sent to My Domain when its `Host` is this name, or when its path starts with it
    /// (`http://127.0.0.1:8090/billsync-sandbox.my.salesforce.com/services/oauth2/token`, for a
    /// local client that cannot choose its `Host`).
    public var myDomainHost = "billsync-sandbox.my.salesforce.com"
    public var tokenLifetime: Duration = .seconds(7_200)
    /// API requests allowed in any 24 hours (the org's `DailyApiRequests`), counted over a rolling
    /// window on `clock`, as Salesforce counts its total request allocation.
    public var dailyAPILimit = 100_000
    /// Share of records that fail with UNABLE_TO_LOCK_ROW.
    public var lockRowFailureRate = 0.0
    /// Share of API requests answered 503.
    public var serviceUnavailableRate = 0.0
    /// Every this many API requests, the token in use expires.
    public var expireTokenEvery: Int?
    /// Added to every API answer (a slow org).
    public var addedLatency: Duration = .zero
    /// Long-running requests allowed at once (Salesforce: 25 in production orgs and sandboxes, 5
    /// in Developer Edition). When this many have been running for `longRunningThreshold` or
    /// more, new requests are refused with REQUEST_LIMIT_EXCEEDED (ConcurrentRequests) until
    /// fewer run; shorter requests are never limited.
    public var concurrentRequestLimit = 25
    /// How long a request must have been running to count toward `concurrentRequestLimit`
    /// (Salesforce: 20 seconds).
    public var longRunningThreshold: Duration = .seconds(20)
    /// The first this many status polls of each Bulk API job answer only after `bulkPollStall`
    /// (a slow org: the client's request times out while the job goes on).
    public var bulkPollStalls = 0
    public var bulkPollStall: Duration = .seconds(2)
    /// Bulk API records processed in any 24 hours (Salesforce: 150,000,000). A job that would
    /// pass it processes what fits, leaves the rest unprocessed and ends Failed.
    public var bulkRecordsPerDay = 150_000_000
    /// Seed of the fault generator: the same seed injects the same faults.
    public var faultSeed: UInt64 = 1
    /// The emulator's time (the daily window, long-running requests). Tests hand in one they move.
    public var clock: @Sendable () -> Date = { Date() }

    public init() {}
}
