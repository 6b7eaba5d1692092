/// What an API request asked for, as the emulator counts calls (`GET /sandbox/salesforce/calls`).
public enum SalesforceEndpointKind: String, Sendable, Codable, CaseIterable {
    case upsert, retrieve, collections, describe, limits
    case bulkCreate = "bulk-create", bulkUpload = "bulk-upload", bulkState = "bulk-state"
    case bulkPoll = "bulk-poll", bulkResults = "bulk-results"
}

/// API calls as the Salesforce side counted them: per client (the connected app whose token
/// made the call) and per endpoint kind, and the requests refused for each limit. Tests and
/// benchmarks assert on these, not on what the client believes it sent.
public struct SalesforceCallCounts: Sendable, Codable, Equatable {
    /// Client id → endpoint kind → calls counted against the daily allocation.
    public var clients: [String: [String: Int]] = [:]
    /// Requests refused because too many long-running requests were in flight.
    public var refusedForConcurrency = 0
    /// Requests refused because the daily allocation was used up.
    public var refusedForDailyLimit = 0

    public init() {}

    /// Every counted call.
    public var total: Int { clients.values.reduce(0) { $0 + $1.values.reduce(0, +) } }

    /// Calls of one client (all kinds, or one).
    public func calls(client: String, kind: SalesforceEndpointKind? = nil) -> Int {
        guard let kinds = clients[client] else { return 0 }
        if let kind { return kinds[kind.rawValue] ?? 0 }
        return kinds.values.reduce(0, +)
    }

    mutating func count(client: String, kind: SalesforceEndpointKind) {
        clients[client, default: [:]][kind.rawValue, default: 0] += 1
    }
}
