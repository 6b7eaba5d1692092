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
/// key): tallies, loads and the input offsets they include as outputs of the messages that
/// changed them (so those offsets are committed only once the state is written), groups,
/// pending deliveries and runs after each round. `restore` reads them back.
public actor AlerterEngine {
    /// A notification a channel has not taken yet.
    struct PendingDelivery: Sendable, Hashable, Codable {
        /// Names this delivery across rounds, whatever else is queued meanwhile.
        var id: UUID
        var notification: AlertNotification
        var channel: String
        var attempts = 0
        var lastError: String?
    }

    /// One of the loader's API-budget alerts, as the state keeps it.
    struct BudgetAlert: Codable {
        var at: Date
        var alert: Alert
    }

    /// The last offset of an input partition whose effect is in the state.
    struct AppliedOffset: Codable {
        var offset: Int64
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
    private let send: @Sendable (AlertNotification, any AlertChannel) async -> DeliveryOutcome
    private let clock: WallClock
    private let logger: Logger
    public private(set) var observations = AlerterObservations()
    private var lifecycle: AlertLifecycle
    private var pending: [String: [PendingDelivery]] = [:]
    /// The last offset applied per input partition (`topic/partition`).
    private var applied: [String: Int64] = [:]
    /// State keys changed since they were last written, with their kind.
    private var dirty: [String: AlertState.Kind] = [:]
    private var delivering = false
    private let pendingGauge = Gauge(label: "billsync_alert_notifications_pending")

    public init(rules: AlertRules, catalog: TopicCatalog, channels: [any AlertChannel],
                send: @escaping @Sendable (AlertNotification, any AlertChannel) async -> DeliveryOutcome,
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

    /// Takes back what an earlier alerter process wrote to the state topic: the latest record
    /// per key, a tombstone (nil) deleting it.
    public func restore(_ records: [(key: String, state: AlertState?)]) {
        var latest: [String: AlertState] = [:]
        for (key, state) in records { latest[key] = state }
        for (key, record) in latest {
            switch record.kind {
            case .deadLetterTally: observations.tallies[key] = Self.decode(AlerterObservations.DeadLetterTally.self, record.data)
            case .objectLoads:
                if let loads = Self.decode(AlerterObservations.ObjectLoads.self, record.data) { observations.loads[loads.object] = loads }
            case .run: observations.runs[key] = Self.decode(AlerterObservations.RunCheck.self, record.data)
            case .budgetAlerts:
                for entry in Self.decode([BudgetAlert].self, record.data) ?? [] { observations.budgetAlerts[entry.at] = entry.alert }
            case .inputOffsets:
                if let offset = Self.decode(AppliedOffset.self, record.data) { applied[String(key.dropFirst("offsets/".count))] = offset.offset }
            case .group:
                guard let group = Self.decode(GroupRecord.self, record.data) else { continue }
                let groupKey = String(key.dropFirst("group/".count))
                lifecycle.groups[groupKey] = group.group
                if !group.pending.isEmpty { pending[groupKey] = group.pending }
            }
        }
        pendingGauge.record(pendingDeliveries)
        logger.info("alerter state restored", metadata: [
            "billsync.groups": "\(lifecycle.groups.count)", "billsync.pending": "\(pendingDeliveries)",
            "billsync.runs": "\(observations.runs.count)",
        ])
    }

    static func decode<T: Decodable>(_ type: T.Type, _ data: JSONValue?) -> T? {
        guard let data else { return nil }
        return try? JSONDecoder().decode(type, from: Data(data.serialized()))
    }

    // MARK: Taking in

    /// Reads one batch of the alerter's inputs; returns the state records they changed. A
    /// message whose offset is already in the state (read again after a crash) changes nothing.
    public func ingest(_ messages: [KafkaConsumerMessage], contracts: MessageContracts) -> [AlertState] {
        let now = clock.now
        var changed: [String: AlertState.Kind] = [:]
        var deadLetterStages: [String: Stage] = [:]
        for stage in TopicCatalog.stages + [.extractor] { deadLetterStages[catalog.deadLetterTopic(stage: stage)] = stage }
        let ownRetries = Set(catalog.retryTopics(stage: .alerter))
        for message in messages {
            let partition = "\(message.topic)/\(message.partition)"
            guard message.offset > applied[partition] ?? -1 else { continue }
            applied[partition] = message.offset
            changed["offsets/\(partition)"] = .inputOffsets
            // A message back from the alerter's own retry topic is read as from where it came.
            let topic = ownRetries.contains(message.topic) ? message.headers.last(named: StageHeaders.originTopic) ?? message.topic : message.topic
            if let stage = deadLetterStages[topic] {
                changed[observations.deadLetter(message, stage: stage, at: now)] = .deadLetterTally
            } else if topic == catalog.loadResults {
                guard let result = try? contracts.decode(message.value ?? [], as: CRMLoadResult.self) else { continue }
                changed[observations.loadResult(result.payload, at: message.timestamp ?? now)] = .objectLoads
            } else if topic == catalog.reports {
                guard let report = try? contracts.decode(message.value ?? [], as: SyncReport.self),
                      report.payload.stage == Stage.extractor.rawValue else { continue }
                changed[observations.runFinished(report.payload, settle: rules.discrepancy.settle)] = .run
            } else if topic == catalog.alerts {
                // Only others' alerts (the loader's budget pause); ours are what we said.
                guard message.headers.last(named: StageHeaders.writtenBy) != Stage.alerter.rawValue,
                      let alert = try? contracts.decode(message.value ?? [], as: Alert.self), alert.payload.kind == .apiBudget else { continue }
                observations.budgetAlerts[message.timestamp ?? now] = alert.payload
                changed["budget"] = .budgetAlerts
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
        case .budgetAlerts:
            let entries = observations.budgetAlerts.sorted { $0.key < $1.key }.map { BudgetAlert(at: $0.key, alert: $0.value) }
            data = entries.isEmpty ? nil : json(entries)
        case .inputOffsets: data = json(applied[String(key.dropFirst("offsets/".count))].map(AppliedOffset.init(offset:)))
        case .group:
            let groupKey = String(key.dropFirst("group/".count))
            let group = lifecycle.groups[groupKey]
            let pending = pending[groupKey] ?? []
            data = group == nil && pending.isEmpty ? nil : json(GroupRecord(group: group, pending: pending))
        }
        return AlertState(key: key, kind: kind, updatedAt: Timestamp(now), data: data)
    }

    /// Records that could not be written are written again with the next round.
    public func notWritten(_ records: [AlertState]) {
        for record in records { dirty[record.key] = record.kind }
    }

    private func takeDirty(at now: Date) -> [AlertState] {
        defer { dirty = [:] }
        return dirty.sorted { $0.key < $1.key }.map { stateRecord(key: $0.key, kind: $0.value, at: now) }
    }

    // MARK: Runs

    /// Runs waiting for their accounting, with their state keys.
    public func dueRuns() -> [(key: String, run: AlerterObservations.RunCheck)] {
        let now = clock.now
        return observations.runs.filter { _, run in run.dueAt <= now && run.reportedAt == nil }
            .map { (key: $0.key, run: $0.value) }.sorted { $0.run.dueAt < $1.run.dueAt }
    }

    /// Records what a run's accounting found. A run is done once its counts added up (`final`),
    /// or once it was checked for `discrepancy.giveUpAfter` (its discrepancies then stay told
    /// until the run is forgotten); until then it is checked again every `settle`.
    public func runChecked(_ key: String, discrepancies: [AlertCondition], pending: [String: Int] = [:], reportPath: String?, final: Bool) {
        let now = clock.now
        observations.runs[key]?.discrepancies = discrepancies
        let before = observations.runs[key]?.pending ?? [:]
        let since = observations.runs[key]?.pendingSince ?? [:]
        observations.runs[key]?.pendingSince = pending.reduce(into: [:]) { result, entry in
            result[entry.key] = before[entry.key] == entry.value ? since[entry.key] ?? now : now
        }
        observations.runs[key]?.pending = pending
        observations.runs[key]?.checks += 1
        if let reportPath { observations.runs[key]?.reportPath = reportPath }
        if final {
            observations.runs[key]?.reportedAt = now
        } else {
            observations.runs[key]?.dueAt = now.addingTimeInterval(rules.discrepancy.settle.timeInterval)
        }
        dirty[key] = .run
    }

    /// A run whose accounting could not be done now is tried again after `settle`, not at once.
    public func runFailed(_ key: String) {
        observations.runs[key]?.dueAt = clock.now.addingTimeInterval(rules.discrepancy.settle.timeInterval)
        dirty[key] = .run
    }

    /// The next daily report, as a run over every source, so it is kept and checked like one.
    private func scheduleDailyReport(at now: Date) {
        let due = rules.nextDailyReport(after: now)
        let key = "run/daily-\(Int(due.timeIntervalSince1970))"
        guard observations.runs[key] == nil else { return }
        observations.runs[key] = AlerterObservations.RunCheck(
            runId: UUID(derivedFrom: key).uuidString, source: AlerterObservations.RunCheck.everySource,
            startedAt: due.addingTimeInterval(-86_400), finishedAt: due, dueAt: due, read: 0, published: 0, rejected: 0)
        dirty[key] = .run
    }

    /// Runs reported more than a week ago are forgotten (their reports stay in the folder and topic).
    private func forgetOldRuns(at now: Date) {
        for (key, run) in observations.runs where run.reportedAt.map({ now.timeIntervalSince($0) > 7 * 86_400 }) ?? false {
            observations.runs[key] = nil
            dirty[key] = .run
        }
    }

    // MARK: Judging

    /// Evaluates every rule now and queues the notifications due on every channel. Returns the
    /// notifications (for tests) and the state records to write.
    public func evaluate() -> (notifications: [AlertNotification], state: [AlertState]) {
        let now = clock.now
        observations.recordLagSample(evaluation: evaluation, at: now)
        for object in rules.staleness.objects where observations.loads[object] == nil {
            observations.loads[object] = AlerterObservations.ObjectLoads(object: object, watchedSince: now)
            dirty["loads/\(object)"] = .objectLoads
        }
        let longest = [rules.deadLetters.window, rules.loadErrors.window, rules.lag.stalledAfter, rules.lag.growingFor]
            .map(\.timeInterval).max()! * 2
        let tallyKeys = Set(observations.tallies.keys)
        let budgetAlerts = observations.budgetAlerts.count
        observations.forget(before: now.addingTimeInterval(-longest))
        for key in tallyKeys.subtracting(observations.tallies.keys) { dirty[key] = .deadLetterTally }
        if observations.budgetAlerts.count != budgetAlerts { dirty["budget"] = .budgetAlerts }
        scheduleDailyReport(at: now)
        forgetOldRuns(at: now)
        var conditions = evaluation.conditions(observations, now: now)
        // A stage none of whose workers reports cannot be judged on lag: its lag groups stay as
        // they were (the missing-worker alert says why) instead of resolving.
        let live = Set(evaluation.stageStates(observations, now: now).keys)
        let holding = Set(conditions.map(\.key))
        for (key, group) in lifecycle.groups where !holding.contains(key) {
            guard [.consumerLag, .consumerStalled].contains(group.condition.kind), let stage = group.condition.stage,
                  !live.contains(stage) else { continue }
            conditions.append(group.condition)
        }
        let silences = Array(observations.silences.values)
        let before = lifecycle.groups
        let notifications = lifecycle.evaluate(conditions, now: now, silences: silences) { condition in
            self.annotation(for: condition, at: now)
        }
        for notification in notifications {
            Counter(label: "billsync_alert_notifications_total",
                    dimensions: [("kind", notification.kind.rawValue), ("reason", notification.reason.rawValue)]).increment()
            pending[notification.groupKey, default: []] += channels.map {
                PendingDelivery(id: UUID(), notification: notification, channel: $0.name)
            }
            dirty["group/\(notification.groupKey)"] = .group
        }
        for (key, group) in lifecycle.groups where before[key] != group { dirty["group/\(key)"] = .group }
        for key in before.keys where lifecycle.groups[key] == nil { dirty["group/\(key)"] = .group }
        pendingGauge.record(pendingDeliveries)
        return (notifications, takeDirty(at: now))
    }

    /// Why a group is told without paging now, nil when it may page: a replay or redrive runs on
    /// its stage (for what a replay causes: dead letters and lag), or every dead letter in it
    /// came from one.
    private func annotation(for condition: AlertCondition, at now: Date) -> String? {
        if let note = condition.annotation { return note }
        guard [.deadLetters, .consumerLag, .consumerStalled].contains(condition.kind), let stage = condition.stage,
              let activity = observations.activity(touching: stage, at: now) else { return nil }
        return "during \(activity.kind.rawValue) started by \(activity.startedBy) at \(RuleEvaluation.time(activity.startedAt.date)): \(activity.description)"
    }

    // MARK: Delivering

    /// Tries every pending notification on its channel, in the order they were queued per
    /// group, channels side by side. A channel that fails is down for the rest of the round
    /// (one timeout per round, not one per group), and a group's later notifications wait
    /// behind its failed one, so a resolved never overtakes its firing. A refused notification
    /// (the channel's configuration is wrong) is dropped, logged and counted. Not re-entered:
    /// a call while one runs returns at once. Returns the state records of changed groups.
    public func deliverPending() async -> [AlertState] {
        guard !delivering else { return [] }
        delivering = true
        defer { delivering = false }
        let byName = Dictionary(channels.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var work: [String: [(group: String, delivery: PendingDelivery)]] = [:]
        for group in pending.keys.sorted() {
            for delivery in pending[group] ?? [] { work[delivery.channel, default: []].append((group, delivery)) }
        }
        for (name, items) in work where byName[name] == nil {
            // Queued for a channel no longer configured: nobody can take it.
            logger.warning("alert notifications for a channel no longer configured dropped", metadata: [
                "alert.channel": "\(name)", "alert.count": "\(items.count)",
            ])
            drop(Set(items.map(\.delivery.id)))
            work[name] = nil
        }
        let send = self.send
        let outcomes = await withTaskGroup(of: [(UUID, DeliveryOutcome)].self) { tasks in
            for (name, items) in work {
                let channel = byName[name]!
                tasks.addTask {
                    var results: [(UUID, DeliveryOutcome)] = []
                    // After a failure the channel's remaining deliveries wait for the next round: its receiver is likely down.
                    for (_, delivery) in items {
                        let outcome = await send(delivery.notification, channel)
                        results.append((delivery.id, outcome))
                        if case .failed = outcome { break }
                    }
                    return results
                }
            }
            var all: [(UUID, DeliveryOutcome)] = []
            for await results in tasks { all += results }
            return all
        }
        var finished = Set<UUID>()
        for (id, outcome) in outcomes {
            switch outcome {
            case .delivered:
                finished.insert(id)
            case let .refused(reason):
                finished.insert(id)
                Counter(label: "billsync_alert_notifications_refused_total").increment()
                logger.error("an alert notification was refused by its channel for good and dropped; fix the channel's configuration",
                             metadata: ["alert.failure": "\(reason)"])
            case let .failed(reason, _):
                update(id) { $0.attempts += 1; $0.lastError = reason }
            }
        }
        drop(finished)
        pendingGauge.record(pendingDeliveries)
        return takeDirty(at: clock.now)
    }

    private func drop(_ ids: Set<UUID>) {
        guard !ids.isEmpty else { return }
        for (group, deliveries) in pending where deliveries.contains(where: { ids.contains($0.id) }) {
            let left = deliveries.filter { !ids.contains($0.id) }
            pending[group] = left.isEmpty ? nil : left
            dirty["group/\(group)"] = .group
        }
    }

    private func update(_ id: UUID, _ change: (inout PendingDelivery) -> Void) {
        for (group, deliveries) in pending {
            guard let index = deliveries.firstIndex(where: { $0.id == id }) else { continue }
            change(&pending[group]![index])
            dirty["group/\(group)"] = .group
            return
        }
    }

    /// Notifications not yet taken by every channel, for tests and the gauge.
    public var pendingDeliveries: Int { pending.values.reduce(0) { $0 + $1.count } }

    /// The groups open now (firing or waiting out group_wait).
    public var openGroups: [String: AlertLifecycle.Group] { lifecycle.groups }

    /// Salesforce's own count of today's API calls, as the loaders' latest heartbeats carry it.
    public var salesforceAPIUsage: Int? {
        observations.workers.values.compactMap { $0.apiUsage?.used }.max()
    }
}
