import Foundation
import Synchronization

/// How the emulated org behaves: credentials, token lifetime, API limits and injected faults.
public struct SalesforceEmulatorConfiguration: Sendable {
    public var clientID = "billsync-sandbox"
    /// From `BILLSYNC_SANDBOX_SF_CLIENT_SECRET` in the CLI; never logged.
    public var clientSecret = "sandbox-secret"
    public var username = "integration@billsync.example"
    /// PEM public key (or certificate) that verifies JWT bearer assertions.
    public var jwtPublicKeyPEM: String?
    /// Where API calls go, as the token response says (the emulator's own address).
    public var instanceURL = "http://127.0.0.1:8090"
    /// The `aud` a JWT assertion must name.
    public var loginURL = "https://login.salesforce.com"
    public var tokenLifetime: Duration = .seconds(7_200)
    /// API requests allowed per day (the org's `DailyApiRequests` limit).
    public var dailyAPILimit = 100_000
    /// Share of records that fail with UNABLE_TO_LOCK_ROW.
    public var lockRowFailureRate = 0.0
    /// Share of API requests answered 503.
    public var serviceUnavailableRate = 0.0
    /// Every this many API requests, the token in use expires.
    public var expireTokenEvery: Int?
    /// Added to every API answer (a slow org).
    public var addedLatency: Duration = .zero
    /// API requests served at once; more are refused with REQUEST_LIMIT_EXCEEDED.
    public var concurrentRequestLimit = 25
    /// Seed of the fault generator: the same seed injects the same faults.
    public var faultSeed: UInt64 = 1

    public init() {}
}

/// Tokens, the API usage counter and the fault generator, shared by all requests.
final class SalesforceAPIState: Sendable {
    struct State {
        var tokens: [String: ContinuousClock.Instant] = [:]
        var apiUsage = 0
        var requestsSinceExpiry = 0
        var random: SplitMix64
        var dailyLimit: Int
        var inFlight = 0
    }

    let configuration: SalesforceEmulatorConfiguration
    private let state: Mutex<State>

    init(configuration: SalesforceEmulatorConfiguration) {
        self.configuration = configuration
        state = Mutex(State(random: SplitMix64(seed: configuration.faultSeed), dailyLimit: configuration.dailyAPILimit))
    }

    func issueToken() -> String {
        let token = "00D000000000001!" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let expiry = ContinuousClock.now.advanced(by: configuration.tokenLifetime)
        state.withLock { $0.tokens[token] = expiry }
        return token
    }

    enum Admission {
        case allowed(usage: Int, limit: Int)
        case invalidSession
        case limitExceeded(usage: Int, limit: Int)
        case unavailable(usage: Int, limit: Int)
    }

    /// Checks the bearer token and counts one API request against the daily limit.
    func admit(authorization: String?) -> Admission {
        state.withLock { state in
            guard let authorization, authorization.hasPrefix("Bearer ") || authorization.hasPrefix("OAuth ") else { return .invalidSession }
            let token = String(authorization.split(separator: " ", maxSplits: 1).last ?? "")
            guard let expiry = state.tokens[token], expiry > .now else { return .invalidSession }
            if let every = configuration.expireTokenEvery {
                state.requestsSinceExpiry += 1
                if state.requestsSinceExpiry >= every {
                    state.requestsSinceExpiry = 0
                    state.tokens[token] = nil
                    return .invalidSession
                }
            }
            guard state.apiUsage < state.dailyLimit else { return .limitExceeded(usage: state.apiUsage, limit: state.dailyLimit) }
            state.apiUsage += 1
            if configuration.serviceUnavailableRate > 0, Double.random(in: 0..<1, using: &state.random) < configuration.serviceUnavailableRate {
                return .unavailable(usage: state.apiUsage, limit: state.dailyLimit)
            }
            return .allowed(usage: state.apiUsage, limit: state.dailyLimit)
        }
    }

    /// Whether this record hits a row lock.
    func lockFails() -> Bool {
        guard configuration.lockRowFailureRate > 0 else { return false }
        return state.withLock { Double.random(in: 0..<1, using: &$0.random) < configuration.lockRowFailureRate }
    }

    var usage: (used: Int, limit: Int) { state.withLock { ($0.apiUsage, $0.dailyLimit) } }

    /// Takes one of the concurrent-request slots; false when all are taken.
    func enter() -> Bool {
        state.withLock { state in
            guard state.inFlight < configuration.concurrentRequestLimit else { return false }
            state.inFlight += 1
            return true
        }
    }

    func leave() { state.withLock { $0.inFlight -= 1 } }

    func setDailyLimit(_ limit: Int) { state.withLock { $0.dailyLimit = limit } }
}
