import Foundation
import Synchronization

/// Tokens, the API limits and the fault generator, shared by all requests.
final class SalesforceAPIState: Sendable {
    struct Session {
        /// On the emulator's clock (`configuration.clock`), which a test moves.
        let expiry: Date
        let clientID: String
    }

    struct State {
        var tokens: [String: Session] = [:]
        var daily = RollingDayCount()
        var bulkRecords = RollingDayCount()
        var requestsSinceExpiry = 0
        var random: SplitMix64
        var dailyLimit: Int
        /// Requests in flight, by ticket, with the time each started on the emulator's clock.
        var inFlight: [Int: Date] = [:]
        var nextTicket = 0
        /// Long-running requests of others (a report export, another integration) taking slots.
        var foreignLongRunning = 0
        var calls = SalesforceCallCounts()
    }

    let configuration: SalesforceEmulatorConfiguration
    private let state: Mutex<State>
    private let listeningAddress = Mutex<String?>(nil)

    /// The instance URL a token response names: the configured one, else where the server listens.
    var instanceURL: String? { configuration.instanceURL ?? listeningAddress.withLock { $0 } }

    func listens(at base: URL) {
        listeningAddress.withLock { $0 = base.absoluteString }
    }

    init(configuration: SalesforceEmulatorConfiguration) {
        self.configuration = configuration
        state = Mutex(State(random: SplitMix64(seed: configuration.faultSeed), dailyLimit: configuration.dailyAPILimit))
    }

    func issueToken(clientID: String) -> String {
        let token = "00D000000000001!" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let session = Session(expiry: configuration.clock().addingTimeInterval(configuration.tokenLifetime.timeInterval), clientID: clientID)
        state.withLock { $0.tokens[token] = session }
        return token
    }

    enum Admission {
        case allowed(usage: Int, limit: Int)
        case invalidSession
        case limitExceeded(usage: Int, limit: Int)
        case unavailable(usage: Int, limit: Int)
    }

    /// Checks the bearer token and counts one API request of `kind` against the daily
    /// allocation (the requests of the last 24 hours) and to the token's client.
    func admit(authorization: String?, kind: SalesforceEndpointKind) -> Admission {
        let now = configuration.clock()
        return state.withLock { state in
            guard let authorization, authorization.hasPrefix("Bearer ") || authorization.hasPrefix("OAuth ") else { return .invalidSession }
            let token = String(authorization.split(separator: " ", maxSplits: 1).last ?? "")
            guard let session = state.tokens[token], session.expiry > configuration.clock() else { return .invalidSession }
            if let every = configuration.expireTokenEvery {
                state.requestsSinceExpiry += 1
                if state.requestsSinceExpiry >= every {
                    state.requestsSinceExpiry = 0
                    state.tokens[token] = nil
                    return .invalidSession
                }
            }
            let used = state.daily.count(at: now)
            guard used < state.dailyLimit else {
                state.calls.refusedForDailyLimit += 1
                return .limitExceeded(usage: used, limit: state.dailyLimit)
            }
            state.daily.add(at: now)
            state.calls.count(client: session.clientID, kind: kind)
            if configuration.serviceUnavailableRate > 0, Double.random(in: 0..<1, using: &state.random) < configuration.serviceUnavailableRate {
                return .unavailable(usage: used + 1, limit: state.dailyLimit)
            }
            return .allowed(usage: used + 1, limit: state.dailyLimit)
        }
    }

    /// Whether this record hits a row lock.
    func lockFails() -> Bool {
        guard configuration.lockRowFailureRate > 0 else { return false }
        return state.withLock { Double.random(in: 0..<1, using: &$0.random) < configuration.lockRowFailureRate }
    }

    var usage: (used: Int, limit: Int) {
        let now = configuration.clock()
        return state.withLock { ($0.daily.count(at: now), $0.dailyLimit) }
    }

    var calls: SalesforceCallCounts { state.withLock { $0.calls } }

    /// Starts a request; nil (refused) when `concurrentRequestLimit` requests have been running
    /// for `longRunningThreshold` or longer. Requests that started more recently do not count.
    func enter() -> Int? {
        let now = configuration.clock()
        let threshold = configuration.longRunningThreshold.timeInterval
        return state.withLock { state in
            let longRunning = state.foreignLongRunning + state.inFlight.values.filter { now.timeIntervalSince($0) >= threshold }.count
            guard longRunning < configuration.concurrentRequestLimit else {
                state.calls.refusedForConcurrency += 1
                return nil
            }
            state.nextTicket += 1
            state.inFlight[state.nextTicket] = now
            return state.nextTicket
        }
    }

    func leave(_ ticket: Int) { state.withLock { _ = $0.inFlight.removeValue(forKey: ticket) } }

    func setForeignLongRunningRequests(_ count: Int) { state.withLock { $0.foreignLongRunning = count } }

    func setDailyLimit(_ limit: Int) { state.withLock { $0.dailyLimit = limit } }

    /// Takes up to `wanted` records from the Bulk API's rolling daily allowance; returns how many
    /// it may process.
    func takeBulkRecords(_ wanted: Int) -> Int {
        let now = configuration.clock()
        return state.withLock { state in
            let granted = max(0, min(wanted, configuration.bulkRecordsPerDay - state.bulkRecords.count(at: now)))
            state.bulkRecords.add(at: now, times: granted)
            return granted
        }
    }
}

extension Duration {
    var timeInterval: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
