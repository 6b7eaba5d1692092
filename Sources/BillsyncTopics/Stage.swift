/// A stage of the fleet: the name its consumer group, its retry and dead-letter topics, its
/// metrics and the `billsync.stage` header of its dead letters carry.
public struct Stage: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public init(_ name: String) {
        self.init(rawValue: name)
    }

    public init(stringLiteral name: String) {
        self.init(rawValue: name)
    }

    /// Publishes what it reads from the billing engine; consumes nothing.
    public static let extractor = Stage("extractor")
    /// Maps raw billing records to CRM upserts.
    public static let transformer = Stage("transformer")
    /// The transformer's second role: hierarchy totals (one replica).
    public static let rollup = Stage("rollup")
    /// Upserts into Salesforce.
    public static let loader = Stage("loader")
    /// Upserts into a PostgreSQL replica of the CRM objects.
    public static let loaderPostgres = Stage("loader-postgres")
    /// Sends meter readings back to the billing engine.
    public static let loaderBilling = Stage("loader-billing")
    /// Watches dead letters, results, lag and runs, and tells ops (not a pipeline stage: no
    /// record passes through it).
    public static let alerter = Stage("alerter")

    public var description: String { rawValue }

    public static func < (lhs: Stage, rhs: Stage) -> Bool { lhs.rawValue < rhs.rawValue }
}
