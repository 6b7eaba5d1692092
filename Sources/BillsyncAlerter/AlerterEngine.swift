import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncRuntime
import BillsyncTopics
import Foundation
import Logging
import Metrics

/// The alerter's memory and judgement: takes in what the topics say, evaluates the rules on
/// the clock, and keeps every notification pending on every channel until it went through.
///
/// Everything that must survive a restart goes out as `alert-state` records (compacted by
/// key): tallies and loads as outputs of the messages that changed them (so their offsets are
/// committed only once the state is written), groups and pending deliveries after each
/// evaluation. `restore` reads them back.
public actor AlerterEngine {
    /// A notification a channel has not taken yet.
    struct PendingDelivery: Sendable, Hashable, Codable {
        var notification: AlertNotification
        var channel: String
        var attempts = 0
        var lastError: String?
    }

    /// What the state topic keeps per group.
    struct GroupRecord: Sendable, Hashable, Codable {
        var group: AlertLifecycle.Group?
        var pending: [PendingDelivery]
    }

    public let rules: AlertRules
    private let evaluation: RuleEvaluation
    private let catalog: TopicCatalog
    private let channels: [any AlertChannel]
    private let send: @Sendable (AlertNotification, any AlertChannel) async -> Result<Void, ChannelFailure>
    private let clock: WallClock
    private let logger: Logger
    public private(set) var observations = AlerterObservations()
    private var lifecycle: AlertLifecycle
    private var pending: [String: [PendingDelivery]] = [:]
    /// Group keys whose record changed since it was last written.
    private var dirtyGroups: Set<String> = []
    private let pendingGauge = Gauge(label: "billsync_alert_notifications_pending")
    private let notificationsCounter = "billsync_alert_notifications_total"

    public init(rules: AlertRules, catalog: TopicCatalog, channels: [any AlertChannel],
                send: @escaping @Sendable (AlertNotification, any AlertChannel) async -> Result<Void, ChannelFailure>,
                clock: WallClock, logger: Logger) {
        self.rules = rules
        self.evaluation = RuleEvaluation(rules: rules)
        self.catalog = catalog
        self.channels = channels
        self.send = send
        self.clock = clock
        self.logger = logger
        self.lifecycle = AlertLifecycle(settings: rules.lifecycle)
    }

    // MARK: Restoring

    /// Takes back what an earlier alerter process wrote to the state topic (latest per key).
    public func restore(_ records: [AlertState]) {
        let decoder = JSONDecoder()
        func decode<T: Decodable>(_ type: T.Type, _ data: JSONValue?) -> T? {
            guard let data else { return nil }
            return try? decoder.decode(type, from: Data(data.serialized()))
        }
        var latest: [String: AlertState] = [:]
        for record in records { latest[record.key] = record }
        for (key, record) in latest {
            switch record.kind {
            case .deadLetterTally: observations.tallies[key] = decode(AlerterObservations.DeadLetterTally.self, record.data)
            case .objectLoads:
                let loads = decode(AlerterObservations.ObjectLoads.self, record.data)
                if let loads { observations.loads[loads.object] = loads }
            case .run: observations.runs[key] = decode(AlerterObservations.RunCheck.self, record.data)
            case .group:
                guard let group = decode(GroupRecord.self, record.data) else { continue }
                let groupKey = String(key.dropFirst("group/".count))
                lifecycle.groups[groupKey] = group.group
                if !group.pending.isEmpty { pending[groupKey] = group.pending }
            }
        }
        pendingGauge.record(pending.values.reduce(0) { $0 + $1.count })
        logger.info("alerter state restored", metadata: [
            "billsync.groups": "\(lifecycle.groups.count)", "billsync.pending": "\(pending.values.reduce(0) { $0 + $1.count })",
            "billsync.runs": "\(observations.runs.count)",
        ])
    }

    // MARK: Taking in

    /// Reads one batch of the alerter's inputs; returns the state records they changed.
    public func ingest(_ messages: [KafkaConsumerMessage], contracts: MessageContracts) throws -> [AlertState] {
        let now = clock.now
        var changed: [String: AlertState.Kind] = [:]
        var deadLetterStages: [String: Stage] = [:]
        for stage in TopicCatalog.stages + [.extractor] { deadLetterStages[catalog.deadLetterTopic(stage: stage)] = stage }
        for message in messages {
            if let stage = deadLetterStages[message.topic] {
                changed[observations.deadLetter(message, stage: stage, at: now)] = .deadLetterTally
            } else if message.topic == catalog.loadResults {
                guard let result = try? contracts.decode(message.value ?? [], as: CRMLoadResult.self) else { continue }
                changed[observations.loadResult(result.payload, at: message.timestamp ?? now)] = .objectLoads
            } else if message.topic == catalog.reports {
                guard let report = try? contracts.decode(message.value ?? [], as: SyncReport.self),
                      report.payload.stage == Stage.extractor.rawValue else { continue }
                changed[observations.runFinished(report.payload, settle: rules.discrepancy.settle)] = .run
            } else if message.topic == catalog.alerts {
                // Only others' alerts (the loader's budget pause); ours are what we said.
                guard message.headers.last(named: StageHeaders.writtenBy) != Stage.alerter.rawValue,
                      let alert = try? contracts.decode(message.value ?? [], as: Alert.self), alert.payload.kind == .apiBudget else { continue }
                observations.budgetAlerts[message.timestamp ?? now] = alert.payload
            }
        }
        return changed.sorted { $0.key < $1.key }.map { key, kind in stateRecord(key: key, kind: kind, at: now) }
    }

    public func heartbeat(_ status: WorkerStatus) { observations.heartbeat(status, at: clock.now) }

    public func silence(_ silence: Silence) { observations.silences[silence.silenceId] = silence }

    public func activity(_ activity: OperatorActivity) { observations.activities[activity.activityId] = activity }

    private func stateRecord(key: String, kind: AlertState.Kind, at now: Date) -> AlertState {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func json<T: Encodable>(_ value: T?) -> JSONValue? {
            guard let value, let bytes = try? encoder.encode(value) else { return nil }
            return try? JSONParser.parse([UInt8](bytes))
        }
        let data: JSONValue?
        switch kind {
        case .deadLetterTally: data = json(observations.tallies[key])
        case .objectLoads: data = json(observations.loads[String(key.dropFirst("loads/".count))])
        case .run: data = json(observations.runs[key])
        case .group:
            let groupKey = String(key.dropFirst("group/".count))
            let group = lifecycle.groups[groupKey]
            let pending = pending[groupKey] ?? []
            data = group == nil && pending.isEmpty ? nil : json(GroupRecord(group: group, pending: pending))
        }
        return AlertState(key: key, kind: kind, updatedAt: Timestamp(now), data: data)
    }

    // MARK: Judging

    /// Runs waiting for their accounting, with their state keys.
    public func dueRuns() -> [(key: String, run: AlerterObservations.RunCheck)] {
        let now = clock.now
        return observations.runs.filter { _, run in
            run.dueAt <= now && run.reportedAt == nil
        }.map { (key: $0.key, run: $0.value) }.sorted { $0.run.dueAt < $1.run.dueAt }
    }

    /// Records what a run's accounting found; returns the state record to write. A run is
    /// done once its counts added up (`final`); until then it is checked again every `settle`.
    public func runChecked(_ key: String, discrepancies: [AlertCondition], reportPath: String?, final: Bool) -> AlertState {
        let now = clock.now
        observations.runs[key]?.discrepancies = discrepancies
        if let reportPath { observations.runs[key]?.reportPath = reportPath }
        if final {
            observations.runs[key]?.reportedAt = now
        } else {
            observations.runs[key]?.dueAt = now.addingTimeInterval(rules.discrepancy.settle.timeInterval)
        }
        return stateRecord(key: key, kind: .run, at: now)
    }

    /// The next daily report, as a run over every source, so it is kept and checked like one.
    private func scheduleDailyReport(at now: Date) -> [AlertState] {
        let due = rules.nextDailyReport(after: now)
        let key = "run/daily-\(Int(due.timeIntervalSince1970))"
        guard observations.runs[key] == nil else { return [] }
        observations.runs[key] = AlerterObservations.RunCheck(
            runId: UUID(derivedFrom: key).uuidString, source: AlerterObservations.RunCheck.everySource, startedAt: due.addingTimeInterval(-86_400),
            finishedAt: due, dueAt: due, read: 0, published: 0, rejected: 0)
        return [stateRecord(key: key, kind: .run, at: now)]
    }

    /// Runs reported more than a week ago are forgotten (their reports stay in the folder and topic).
    private func forgetOldRuns(at now: Date) -> [AlertState] {
        let old = observations.runs.filter { $0.value.reportedAt.map { now.timeIntervalSince($0) > 7 * 86_400 } ?? false }.map(\.key)
        for key in old { observations.runs[key] = nil }
        return old.map { AlertState(key: $0, kind: .run, updatedAt: Timestamp(now), data: nil) }
    }

    /// Evaluates every rule now and queues the notifications due on every channel. Returns the
    /// notifications (for the alerts topic) and the state records to write.
    public func evaluate() -> (notifications: [AlertNotification], state: [AlertState]) {
        let now = clock.now
        observations.recordLagSample(evaluation: evaluation, at: now)
        let longest = [rules.deadLetters.window, rules.loadErrors.window, rules.lag.stalledAfter, rules.lag.growingFor]
            .map(\.timeInterval).max()! * 2
        let tallyKeys = Set(observations.tallies.keys)
        observations.forget(before: now.addingTimeInterval(-longest))
        var state: [AlertState] = tallyKeys.subtracting(observations.tallies.keys).map {
            AlertState(key: $0, kind: .deadLetterTally, updatedAt: Timestamp(now), data: nil)
        }
        state += scheduleDailyReport(at: now) + forgetOldRuns(at: now)
        let conditions = evaluation.conditions(observations, now: now)
        let silences = Array(observations.silences.values)
        let before = lifecycle.groups
        let notifications = lifecycle.evaluate(conditions, now: now, silences: silences) { condition in
            self.observations.activity(touching: condition.stage, at: now).map {
                "during \($0.kind.rawValue) started by \($0.startedBy) at \(RuleEvaluation.time($0.startedAt.date)): \($0.description)"
            }
        }
        for notification in notifications {
            Counter(label: notificationsCounter, dimensions: [("kind", notification.kind.rawValue), ("reason", notification.reason.rawValue)]).increment()
            pending[notification.groupKey, default: []] += channels.map { PendingDelivery(notification: notification, channel: $0.name) }
            dirtyGroups.insert(notification.groupKey)
        }
        for (key, group) in lifecycle.groups where before[key] != group { dirtyGroups.insert(key) }
        for key in before.keys where lifecycle.groups[key] == nil { dirtyGroups.insert(key) }
        state += takeDirtyGroups(at: now)
        pendingGauge.record(pending.values.reduce(0) { $0 + $1.count })
        return (notifications, state)
    }

    private func takeDirtyGroups(at now: Date) -> [AlertState] {
        defer { dirtyGroups = [] }
        return dirtyGroups.sorted().map { stateRecord(key: "group/\($0)", kind: .group, at: now) }
    }

    // MARK: Delivering

    /// Tries every pending notification on its channel, in the order they were queued per
    /// group; a failure keeps it (and the group's later ones on that channel) pending for the
    /// next round. Returns the state records of the groups whose deliveries changed.
    public func deliverPending() async -> [AlertState] {
        let byName = Dictionary(channels.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var work: [String: [(String, Int, PendingDelivery)]] = [:]
        for (group, deliveries) in pending {
            for (index, delivery) in deliveries.enumerated() { work[delivery.channel, default: []].append((group, index, delivery)) }
        }
        // Channels are independent: one slow receiver does not hold back the others.
        let send = self.send
        let outcomes = await withTaskGroup(of: [(String, Int, Result<Void, ChannelFailure>)].self) { tasks in
            for (name, items) in work {
                guard let channel = byName[name] else { continue }
                tasks.addTask {
                    var results: [(String, Int, Result<Void, ChannelFailure>)] = []
                    var blocked = Set<String>()
                    for (group, index, delivery) in items.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) {
                        // Keep a group's notifications in order on a channel: resolved never before firing.
                        guard !blocked.contains(group) else { continue }
                        let outcome = await send(delivery.notification, channel)
                        if case .failure = outcome { blocked.insert(group) }
                        results.append((group, index, outcome))
                    }
                    return results
                }
            }
            var all: [(String, Int, Result<Void, ChannelFailure>)] = []
            for await results in tasks { all += results }
            return all
        }
        var delivered: [String: Set<Int>] = [:]
        for (group, index, outcome) in outcomes {
            switch outcome {
            case .success: delivered[group, default: []].insert(index)
            case let .failure(failure):
                pending[group]?[index].attempts += 1
                pending[group]?[index].lastError = failure.reason
            }
            dirtyGroups.insert(group)
        }
        for (group, indices) in delivered {
            pending[group] = pending[group]?.enumerated().filter { !indices.contains($0.offset) }.map(\.element)
            if pending[group]?.isEmpty == true { pending[group] = nil }
        }
        pendingGauge.record(pending.values.reduce(0) { $0 + $1.count })
        return takeDirtyGroups(at: clock.now)
    }

    /// Salesforce's own count of today's API calls, as the loaders' latest heartbeats carry it.
    public var salesforceAPIUsage: Int? {
        observations.workers.values.compactMap { $0.apiUsage?.used }.max()
    }

    /// Notifications not yet taken by every channel, for tests and `/status`.
    public var pendingDeliveries: Int { pending.values.reduce(0) { $0 + $1.count } }

    /// The groups open now (firing or waiting out group_wait).
    public var openGroups: [String: AlertLifecycle.Group] { lifecycle.groups }
}
