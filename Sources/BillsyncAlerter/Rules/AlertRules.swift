import BillsyncRuntime
import BillsyncSalesforce
import Foundation
import Yams

/// Every threshold the alerter applies, with defaults for a utility that syncs every 4 hours
/// (seed 000). Read from YAML (`rules:` in the alerter's file); every key is optional, and an
/// unknown key or a bad value stops the alerter with the key named. The README's "Alerts"
/// section documents each one.
public struct AlertRules: Sendable, Hashable {
    /// Dead letters per (stage, error code, field).
    public struct DeadLetters: Sendable, Hashable {
        public init() {}
        /// Dead letters older than this no longer count: the group resolves once its window is quiet.
        public var window: Duration = .seconds(3_600)
        /// Dead letters in the window that open a group (warning).
        public var threshold = 1
        /// Dead letters in the window that make it critical.
        public var criticalAt = 100
    }

    /// The loader's failed results per object.
    public struct LoadErrors: Sendable, Hashable {
        public init() {}
        public var window: Duration = .seconds(900)
        /// Share of failed results in the window that opens the group.
        public var rate = 0.05
        /// Fewer results than this in the window say nothing (3 failures of 4 records is noise).
        public var minimumResults = 20
    }

    /// No successful load of an object for too long: a missed scheduled run.
    public struct Staleness: Sendable, Hashable {
        public init() {}
        /// Seed 000 syncs every 4 hours: one missed run plus slack.
        public var after: Duration = .seconds(6 * 3_600)
        /// Objects that must be loaded even if the alerter never saw them loaded; objects seen
        /// loaded are watched anyway.
        public var objects: [String] = []
    }

    /// A stage's lag, from its workers' heartbeats.
    public struct Lag: Sendable, Hashable {
        public init() {}
        /// Age of the oldest unprocessed message that opens the group: "the loader is 40 minutes behind".
        public var seconds: Duration = .seconds(900)
        /// Offsets not moving while there is lag, for this long: stalled (Burrow's definition).
        public var stalledAfter: Duration = .seconds(600)
        /// Lag only growing (while offsets move) for this long: falling behind.
        public var growingFor: Duration = .seconds(900)
    }

    public struct APIBudget: Sendable, Hashable {
        public init() {}
        /// Share of Salesforce's daily API limit in use that opens the group (the loader pauses at its own share).
        public var share = 0.7
    }

    public struct Discrepancy: Sendable, Hashable {
        public init() {}
        /// Time a finished extraction run's records have to flow before its counts must add up;
        /// a run that does not add up is checked again this often.
        public var settle: Duration = .seconds(600)
        /// A run still not adding up this long after it finished is checked no more: its
        /// discrepancies stay told until it is forgotten (a week after).
        public var giveUpAfter: Duration = .seconds(24 * 3_600)
    }

    public struct Workers: Sendable, Hashable {
        public init() {}
        /// A running worker whose last heartbeat is older than this stopped reporting (3 beats of 15 s, plus slack).
        public var missingAfter: Duration = .seconds(60)
    }

    /// When notifications go out, as Alertmanager's route settings.
    public struct Lifecycle: Sendable, Hashable {
        public init() {}
        /// A new group waits this long before its first notification; one that clears within it is never sent.
        public var groupWait: Duration = .seconds(30)
        /// An open group that changed is told again at most this often (an update, not a page).
        public var groupInterval: Duration = .seconds(300)
        /// An open group that did not change is told again this often (a reminder).
        public var repeatInterval: Duration = .seconds(4 * 3_600)
        /// An open group that settled (see `settle`) and then reached this multiple of its count
        /// at the last page pages again.
        public var growthFactor = 2.0
        /// An open group whose count has not risen for this long has settled: its run has ended.
        /// Until then its growth is updated in place, never paged.
        public var settle: Duration = .seconds(600)
        /// A group whose count passes this pages once more even while its run flows; nil: never.
        public var repageAbove: Int?
        /// How often the rules are evaluated.
        public var evaluationInterval: Duration = .seconds(15)
    }

    public struct Reports: Sendable, Hashable {
        public init() {}
        /// Where the sync reports are written (a folder per report).
        public var directory = "reports"
        /// The daily report's time of day, UTC, `HH:MM`.
        public var dailyAt = "06:00"
        /// Records read back from Salesforce per report and compared field by field.
        public var reconciliationSample = 20
    }

    public var deadLetters = DeadLetters()
    public var loadErrors = LoadErrors()
    public var staleness = Staleness()
    public var lag = Lag()
    public var apiBudget = APIBudget()
    public var discrepancy = Discrepancy()
    public var workers = Workers()
    public var lifecycle = Lifecycle()
    public var reports = Reports()

    public init() {}

    /// Reads `yaml` over the defaults. Keys are `section.key` (e.g. `lag.seconds: 15m`).
    public init(yaml: String, file: String = "rules") throws {
        self.init()
        guard let root = try Yams.load(yaml: yaml) else { return }
        guard let sections = root as? [String: Any] else { throw AlertRulesError(key: file, reason: "expected a mapping of sections") }
        for (section, body) in sections {
            guard let values = body as? [String: Any] else { throw AlertRulesError(key: section, reason: "expected a mapping") }
            for (key, value) in values { try set("\(section).\(key)", value) }
        }
    }

    private mutating func set(_ key: String, _ value: Any) throws {
        func duration() throws -> Duration {
            guard let text = (value as? String) ?? (value as? Int).map({ "\($0)s" }),
                  let parsed = WorkerConfiguration.parseDuration(text) else {
                throw AlertRulesError(key: key, reason: "'\(value)' is not a duration (like 30s, 15m, 6h)")
            }
            return parsed
        }
        func integer(_ range: ClosedRange<Int>) throws -> Int {
            guard let number = value as? Int, range.contains(number) else {
                throw AlertRulesError(key: key, reason: "'\(value)' is not a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return number
        }
        func fraction(_ range: ClosedRange<Double>) throws -> Double {
            guard let number = (value as? Double) ?? (value as? Int).map(Double.init), range.contains(number) else {
                throw AlertRulesError(key: key, reason: "'\(value)' is not a number in \(range.lowerBound)...\(range.upperBound)")
            }
            return number
        }
        switch key {
        case "deadLetters.window": deadLetters.window = try duration()
        case "deadLetters.threshold": deadLetters.threshold = try integer(1...1_000_000)
        case "deadLetters.criticalAt": deadLetters.criticalAt = try integer(1...1_000_000_000)
        case "loadErrors.window": loadErrors.window = try duration()
        case "loadErrors.rate": loadErrors.rate = try fraction(0...1)
        case "loadErrors.minimumResults": loadErrors.minimumResults = try integer(1...1_000_000)
        case "staleness.after": staleness.after = try duration()
        case "staleness.objects":
            guard let list = value as? [String] else { throw AlertRulesError(key: key, reason: "expected a list of object names") }
            staleness.objects = list
        case "lag.seconds": lag.seconds = try duration()
        case "lag.stalledAfter": lag.stalledAfter = try duration()
        case "lag.growingFor": lag.growingFor = try duration()
        case "apiBudget.share": apiBudget.share = try fraction(0.01...1)
        case "discrepancy.settle": discrepancy.settle = try duration()
        case "discrepancy.giveUpAfter": discrepancy.giveUpAfter = try duration()
        case "workers.missingAfter": workers.missingAfter = try duration()
        case "lifecycle.groupWait": lifecycle.groupWait = try duration()
        case "lifecycle.groupInterval": lifecycle.groupInterval = try duration()
        case "lifecycle.repeatInterval": lifecycle.repeatInterval = try duration()
        case "lifecycle.growthFactor": lifecycle.growthFactor = try fraction(1.01...1_000)
        case "lifecycle.evaluationInterval": lifecycle.evaluationInterval = try duration()
        case "lifecycle.settle": lifecycle.settle = try duration()
        case "lifecycle.repageAbove": lifecycle.repageAbove = try integer(1...1_000_000_000)
        case "reports.directory":
            guard let text = value as? String, !text.isEmpty else { throw AlertRulesError(key: key, reason: "expected a folder") }
            reports.directory = text
        case "reports.dailyAt":
            guard let text = value as? String, Self.timeOfDay(text) != nil else { throw AlertRulesError(key: key, reason: "'\(value)' is not HH:MM") }
            reports.dailyAt = text
        case "reports.reconciliationSample": reports.reconciliationSample = try integer(0...10_000)
        default: throw AlertRulesError(key: key, reason: "unknown rule setting")
        }
    }

    /// Seconds after midnight UTC of `HH:MM`.
    static func timeOfDay(_ text: String) -> Int? {
        let parts = text.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 2, (0..<24).contains(parts[0]), (0..<60).contains(parts[1]) else { return nil }
        return parts[0] * 3_600 + parts[1] * 60
    }

    /// The next daily report time after `date`.
    func nextDailyReport(after date: Date) -> Date {
        let offset = Double(Self.timeOfDay(reports.dailyAt) ?? 6 * 3_600)
        let day = (date.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400
        let today = Date(timeIntervalSince1970: day + offset)
        return today > date ? today : today.addingTimeInterval(86_400)
    }
}

public struct AlertRulesError: Error, CustomStringConvertible {
    public let key: String
    public let reason: String
    public var description: String { "rules: \(key): \(reason)" }
}
