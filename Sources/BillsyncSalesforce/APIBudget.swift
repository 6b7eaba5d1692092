import Metrics
import Synchronization

/// The org's daily API usage as Salesforce reports it in `Sforce-Limit-Info: api-usage=used/limit`
/// on every answer. The header counts the whole org, so every loader instance sees what all of
/// them (and anyone else) used: sharing the budget needs no coordination of its own.
public final class APIBudget: Sendable {
    /// Of the daily limit, the share the loader may use (the rest is left for people and other integrations).
    public let share: Double
    private let state = Mutex<(used: Int, limit: Int, calls: Int)>((0, 0, 0))

    public init(share: Double = 0.8) {
        self.share = share
    }

    /// Reads `api-usage=12/15000` (the header may carry other entries, comma separated).
    public func record(limitInfo: String?) {
        // Looked up per call (not held): the budget may exist before the metrics system is set up.
        Counter(label: "billsync_salesforce_api_calls_total").increment()
        state.withLock { $0.calls += 1 }
        guard let limitInfo else { return }
        for entry in limitInfo.split(separator: ",") {
            let parts = entry.trimmingCharacters(in: .whitespaces).split(separator: "=")
            guard parts.count == 2, parts[0] == "api-usage" else { continue }
            let numbers = parts[1].split(separator: "/").compactMap { Int($0) }
            guard numbers.count == 2 else { continue }
            state.withLock { $0.used = numbers[0]; $0.limit = numbers[1] }
            Gauge(label: "billsync_salesforce_api_used").record(numbers[0])
            Gauge(label: "billsync_salesforce_api_limit").record(numbers[1])
        }
    }

    /// True while usage is under the loader's share (or not known yet).
    public var allowsCalls: Bool {
        state.withLock { $0.limit == 0 || Double($0.used) < share * Double($0.limit) }
    }

    public var usage: (used: Int, limit: Int) { state.withLock { ($0.used, $0.limit) } }
    /// API calls this process made (logins excluded).
    public var calls: Int { state.withLock { $0.calls } }
}
