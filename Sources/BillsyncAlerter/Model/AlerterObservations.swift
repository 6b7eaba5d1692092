import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncOperations
import BillsyncTopics
import Foundation

/// Everything the alerter has seen that its rules read: dead-letter tallies, loads per object,
/// runs waiting for their check (kept in the state topic, so a restart forgets none), and the
/// latest heartbeats, silences and operator activities (re-read from their compacted topics).
public struct AlerterObservations: Sendable {
    /// Occurrences per minute, oldest first: a window's count without keeping every event.
    public struct MinuteCounts: Sendable, Hashable, Codable {
        public var minutes: [Int64] = []
        public var counts: [Int] = []

        mutating func add(_ date: Date, _ count: Int = 1) {
            let minute = Int64(date.timeIntervalSince1970 / 60)
            if let index = minutes.lastIndex(of: minute) {
                counts[index] += count
            } else {
                let index = minutes.firstIndex { $0 > minute } ?? minutes.count
                minutes.insert(minute, at: index)
                counts.insert(count, at: index)
            }
        }

        func total(since date: Date) -> Int {
            let from = Int64(date.timeIntervalSince1970 / 60)
            return zip(minutes, counts).reduce(0) { $0 + ($1.0 >= from ? $1.1 : 0) }
        }

        mutating func forget(before date: Date) {
            let from = Int64(date.timeIntervalSince1970 / 60)
            while let first = minutes.first, first < from {
                minutes.removeFirst()
                counts.removeFirst()
            }
        }
    }

    /// Dead letters of one stage with one error code on one field.
    public struct DeadLetterTally: Sendable, Hashable, Codable {
        public var stage: String
        public var code: String
        /// `Object.Field` when the record names its object, else the pointer or column.
        public var field: String?
        /// The pointer or column as the dead letter's header says it (what a redrive filters on).
        public var rawField: String?
        public var topic: String
        public var reason: String
        public var recent = MinuteCounts()
        /// Dead letters in the window that a replay or redrive caused.
        public var replayed = MinuteCounts()
        public var examples: [String] = []
        public var firstSeenAt: Date
        public var lastSeenAt: Date

        static func key(stage: String, code: String, field: String?) -> String {
            "dead-letters/\(stage)/\(code)/\(field ?? "-")"
        }
    }

    /// The loader's results for one object.
    public struct ObjectLoads: Sendable, Hashable, Codable {
        public var object: String
        /// When the alerter began to expect it (an object the rules list before it was ever
        /// loaded): staleness counts from here until its first load.
        public var watchedSince: Date?
        public var lastSuccessAt: Date?
        public var succeeded = MinuteCounts()
        public var failed = MinuteCounts()
        public var failureCodes: [String: Int] = [:]
        public var examples: [String] = []
    }

    /// A finished extraction run whose records must add up once they had time to flow (or the
    /// daily report, a "run" over every source).
    public struct RunCheck: Sendable, Hashable, Codable {
        /// The source of the daily report: every source, no discrepancy check.
        public static let everySource = "*"

        public var runId: String
        public var source: String
        public var startedAt: Date?
        public var finishedAt: Date
        public var dueAt: Date
        public var read: Int
        public var published: Int
        public var rejected: Int
        /// When its counts added up and its final report was written; nil while it is checked again.
        public var reportedAt: Date?
        /// Checks so far.
        public var checks = 0
        /// The last check's findings, one per object whose counts did not add up.
        public var discrepancies: [AlertCondition] = []
        /// Each stage's committed offsets at the last check, summed (`RunAccounting.progress`,
        /// keys `committed/<stage>`): records waiting at a stage whose sum moved since are late,
        /// not stuck. Optional, so state written before it existed still reads (older state's
        /// per-flow counts simply match no stage).
        public var pending: [String: Int]?
        /// Since when each of `pending`'s sums has had its value (a stage stalled that long
        /// holds its records; one committing once a minute through a backlog does not).
        public var pendingSince: [String: Date]?
        /// The report written for it.
        public var reportPath: String?
    }

    public struct LagSample: Sendable, Hashable {
        public var at: Date
        public var position: Int64
        public var lag: Int64
    }

    public var tallies: [String: DeadLetterTally] = [:]
    public var loads: [String: ObjectLoads] = [:]
    public var runs: [String: RunCheck] = [:]
    public var workers: [String: WorkerStatus] = [:]
    /// When a worker was first heard of by this alerter process.
    public var workersFirstSeen: [String: Date] = [:]
    public var silences: [UUID: Silence] = [:]
    public var activities: [UUID: OperatorActivity] = [:]
    /// The loader's own API-budget alerts (it pauses at its share), by when they came.
    public var budgetAlerts: [Date: Alert] = [:]
    public var lagHistory: [String: [LagSample]] = [:]

    public init() {}

    // MARK: Taking in what was read

    /// A record from a dead-letter topic. Returns the key of the tally it changed.
    @discardableResult
    public mutating func deadLetter(_ message: KafkaConsumerMessage, stage: Stage, at now: Date) -> String {
        let json = message.value.flatMap { try? JSONParser.parse($0) }
        let facts = FleetFacts.DeadLetter(message: message, topicStage: stage, json: json)
        let object = json?["payload"]?["object"]?.stringValue
        var field = facts.field
        if let object, let pointer = facts.field, let last = pointer.split(separator: "/").last {
            field = "\(object).\(last)"
        }
        let key = DeadLetterTally.key(stage: facts.stage.rawValue, code: facts.code, field: field)
        let when = message.timestamp ?? now
        var tally = tallies[key] ?? DeadLetterTally(stage: facts.stage.rawValue, code: facts.code, field: field, rawField: facts.field,
                                                    topic: message.topic, reason: facts.reason, firstSeenAt: when, lastSeenAt: when)
        tally.recent.add(when)
        if message.headers.last(named: StageHeaders.replayID) != nil { tally.replayed.add(when) }
        tally.firstSeenAt = min(tally.firstSeenAt, when)
        tally.lastSeenAt = max(tally.lastSeenAt, when)
        tally.reason = facts.reason
        if !tally.examples.contains(facts.example) {
            tally.examples.append(facts.example)
            if tally.examples.count > 3 { tally.examples.removeFirst() }
        }
        tallies[key] = tally
        return key
    }

    /// A load result. Returns the key of the object it changed.
    @discardableResult
    public mutating func loadResult(_ result: CRMLoadResult, at when: Date) -> String {
        var loads = self.loads[result.object] ?? ObjectLoads(object: result.object)
        if result.success {
            loads.succeeded.add(when)
            loads.lastSuccessAt = max(loads.lastSuccessAt ?? when, when)
        } else {
            loads.failed.add(when)
            for error in result.errors { loads.failureCodes[error.code, default: 0] += 1 }
            if !loads.examples.contains(result.externalId) {
                loads.examples.append(result.externalId)
                if loads.examples.count > 3 { loads.examples.removeFirst() }
            }
        }
        self.loads[result.object] = loads
        return "loads/\(result.object)"
    }

    /// An extraction run's report: its records are checked once `settle` has passed.
    @discardableResult
    public mutating func runFinished(_ report: SyncReport, settle: Duration) -> String {
        let key = "run/\(report.runId.uuidString)"
        guard runs[key] == nil else { return key }
        runs[key] = RunCheck(runId: report.runId.uuidString, source: report.source ?? report.stage, startedAt: report.startedAt.date,
                             finishedAt: report.finishedAt.date,
                             dueAt: report.finishedAt.date.addingTimeInterval(settle.timeInterval),
                             read: report.counts.read ?? 0, published: report.counts.published ?? 0, rejected: report.counts.rejected ?? 0)
        return key
    }

    public mutating func heartbeat(_ status: WorkerStatus, at now: Date) {
        if workersFirstSeen[status.worker] == nil { workersFirstSeen[status.worker] = now }
        if let known = workers[status.worker], known.reportedAt.date > status.reportedAt.date { return }
        workers[status.worker] = status
    }

    /// One lag sample per stage: what "stalled" and "growing" compare over time.
    public mutating func recordLagSample(evaluation: RuleEvaluation, at now: Date) {
        for (stage, state) in evaluation.stageStates(self, now: now) {
            lagHistory[stage, default: []].append(LagSample(at: now, position: state.position, lag: state.lagMessages))
        }
    }

    /// Forgets what no rule can read any more, so a long-running alerter stays small.
    public mutating func forget(before date: Date) {
        for key in tallies.keys {
            tallies[key]!.recent.forget(before: date)
            tallies[key]!.replayed.forget(before: date)
            if tallies[key]!.recent.minutes.isEmpty { tallies[key] = nil }
        }
        for key in loads.keys {
            loads[key]!.succeeded.forget(before: date)
            loads[key]!.failed.forget(before: date)
        }
        budgetAlerts = budgetAlerts.filter { $0.key >= date }
        for stage in lagHistory.keys { lagHistory[stage]!.removeAll { $0.at < date } }
    }

    /// The latest operator activity running now on `stage`. One unfinished for over 12 hours is
    /// taken for a tool that died, not a replay still running: it no longer holds pages back.
    func activity(touching stage: String, at now: Date) -> OperatorActivity? {
        activities.values.filter { activity in
            activity.finishedAt == nil && activity.startedAt.date <= now && now.timeIntervalSince(activity.startedAt.date) < 12 * 3_600
                && activity.stages.contains(stage)
        }.max { $0.startedAt.date < $1.startedAt.date }
    }
}
