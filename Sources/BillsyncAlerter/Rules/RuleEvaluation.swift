import BillsyncOperations
import BillsyncContracts
import Foundation

/// The alerter's rules over what it has seen: each returns the conditions holding at `now`,
/// one per root cause. Runs' discrepancies are found by `RunAccounting` (they need the fleet's
/// topics) and kept on the run; here they are only read.
public struct RuleEvaluation: Sendable {
    public let rules: AlertRules

    public init(rules: AlertRules) {
        self.rules = rules
    }

    public func conditions(_ seen: AlerterObservations, now: Date) -> [AlertCondition] {
        deadLetters(seen, now: now) + loadErrors(seen, now: now) + staleness(seen, now: now) + lag(seen, now: now)
            + missingWorkers(seen, now: now) + apiBudget(seen, now: now) + seen.runs.values.flatMap(\.discrepancies)
    }

    static func time(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func minutes(_ seconds: TimeInterval) -> String {
        seconds >= 5_400 ? "\(Int(seconds / 3_600)) hours" : seconds >= 120 ? "\(Int(seconds / 60)) minutes" : "\(Int(seconds)) seconds"
    }

    // MARK: Dead letters per (stage, code, field)

    func deadLetters(_ seen: AlerterObservations, now: Date) -> [AlertCondition] {
        let since = now.addingTimeInterval(-rules.deadLetters.window.timeInterval)
        return seen.tallies.compactMap { key, tally in
            let count = tally.recent.total(since: since)
            guard count >= rules.deadLetters.threshold else { return nil }
            let on = tally.field.map { " on \($0)" } ?? ""
            let records = count == 1 ? "1 record" : "\(count) records"
            let stageName = tally.stage == "extractor" ? "the extractor" : "the \(tally.stage)"
            let command = RedriveCommand.for(stage: tally.stage, code: tally.code, field: tally.rawField)
            var condition = AlertCondition(
                key: key, severity: count >= rules.deadLetters.criticalAt ? .critical : .warning, kind: .deadLetters,
                title: "\(records) failed at \(stageName) with \(tally.code)\(on) since \(Self.time(tally.firstSeenAt))",
                summary: "\(tally.reason) Last at \(Self.time(tally.lastSeenAt)). They wait in \(tally.topic); fix the cause, then redrive them.",
                stage: tally.stage, topic: tally.topic, count: count, firstSeenAt: tally.firstSeenAt, lastSeenAt: tally.lastSeenAt,
                examples: tally.examples, command: command,
                labels: ["code": tally.code, "field": tally.field ?? "-"],
                details: ["dead letters in window": "\(count)", "window": Self.minutes(rules.deadLetters.window.timeInterval)])
            // Told without paging only when every one came from a replay or redrive: genuine
            // failures among them still page.
            let replayed = tally.replayed.total(since: since)
            if replayed > 0, replayed == count {
                condition.annotation = "all \(count) came from a replay or redrive"
            } else if replayed > 0 {
                condition.details["from a replay or redrive"] = "\(replayed)"
            }
            return condition
        }
    }

    // MARK: Load error rate per object

    func loadErrors(_ seen: AlerterObservations, now: Date) -> [AlertCondition] {
        let since = now.addingTimeInterval(-rules.loadErrors.window.timeInterval)
        return seen.loads.values.compactMap { loads in
            let failed = loads.failed.total(since: since)
            let total = failed + loads.succeeded.total(since: since)
            guard total >= rules.loadErrors.minimumResults, failed > 0,
                  Double(failed) / Double(total) > rules.loadErrors.rate else { return nil }
            let percent = Int((Double(failed) * 100 / Double(total)).rounded())
            let codes = loads.failureCodes.sorted { $0.value > $1.value }.prefix(3).map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
            return AlertCondition(
                key: "load-errors/\(loads.object)", severity: .critical, kind: .loadFailures,
                title: "\(percent) % of \(loads.object) loads failed in the last \(Self.minutes(rules.loadErrors.window.timeInterval))",
                summary: "\(failed) of \(total) \(loads.object) results failed (threshold \(Int(rules.loadErrors.rate * 100)) %). Most common: \(codes.isEmpty ? "no code" : codes).",
                stage: "loader", count: failed, firstSeenAt: since, lastSeenAt: now, examples: loads.examples,
                labels: ["object": loads.object], details: ["failed": "\(failed)", "results": "\(total)"])
        }
    }

    // MARK: Staleness: no successful load of an object for too long

    func staleness(_ seen: AlerterObservations, now: Date) -> [AlertCondition] {
        let objects = Set(seen.loads.keys).union(rules.staleness.objects)
        return objects.sorted().compactMap { object in
            // An object never loaded counts from when the alerter began to expect it.
            guard let last = seen.loads[object]?.lastSuccessAt ?? seen.loads[object]?.watchedSince else { return nil }
            let age = now.timeIntervalSince(last)
            guard age > rules.staleness.after.timeInterval else { return nil }
            return AlertCondition(
                key: "staleness/\(object)", severity: .critical, kind: .staleness,
                title: "No \(object) loaded for \(Self.minutes(age)): a scheduled sync was missed",
                summary: "\(seen.loads[object]?.lastSuccessAt == nil ? "No \(object) was ever loaded since the alerter began watching at" : "The last successful \(object) load was at") \(Self.time(last)); the rule allows \(Self.minutes(rules.staleness.after.timeInterval)). Check the extractor's schedule and the stages' lag.",
                stage: "loader", count: 1, firstSeenAt: last.addingTimeInterval(rules.staleness.after.timeInterval), lastSeenAt: now,
                labels: ["object": object], details: ["last success": Self.time(last)])
        }
    }

    // MARK: Lag: behind, stalled, or falling behind

    /// The latest state of each stage from its live workers' heartbeats.
    struct StageState {
        var lagMessages: Int64 = 0
        var lagSeconds: Double = 0
        var position: Int64 = 0
        var workers: [String] = []
    }

    func stageStates(_ seen: AlerterObservations, now: Date) -> [String: StageState] {
        var newest: [String: [String: (Date, WorkerStatus.Partition)]] = [:]
        var states: [String: StageState] = [:]
        for status in seen.workers.values where status.state == .running {
            guard now.timeIntervalSince(status.reportedAt.date) <= rules.workers.missingAfter.timeInterval else { continue }
            states[status.stage, default: StageState()].workers.append(status.worker)
            for partition in status.partitions {
                let id = "\(partition.topic)/\(partition.partition)"
                if let known = newest[status.stage]?[id], known.0 > status.reportedAt.date { continue }
                newest[status.stage, default: [:]][id] = (status.reportedAt.date, partition)
            }
        }
        for (stage, partitions) in newest {
            for (_, partition) in partitions.values {
                states[stage]!.lagMessages += partition.lagMessages
                states[stage]!.lagSeconds = max(states[stage]!.lagSeconds, partition.lagSeconds)
                states[stage]!.position += partition.position
            }
        }
        return states
    }

    func lag(_ seen: AlerterObservations, now: Date) -> [AlertCondition] {
        var conditions: [AlertCondition] = []
        for (stage, state) in stageStates(seen, now: now) {
            let history = seen.lagHistory[stage] ?? []
            let workers = state.workers.sorted().joined(separator: ", ")
            if state.lagSeconds > rules.lag.seconds.timeInterval {
                conditions.append(AlertCondition(
                    key: "lag/\(stage)", severity: .warning, kind: .consumerLag,
                    title: "The \(stage) is \(Self.minutes(state.lagSeconds)) behind (\(state.lagMessages) messages)",
                    summary: "The oldest message the \(stage) has not finished is \(Self.minutes(state.lagSeconds)) old (threshold \(Self.minutes(rules.lag.seconds.timeInterval))). Workers: \(workers).",
                    // A gauge, not a count of records: a stable 1, so its every move is no update or page.
                    stage: stage, count: 1, firstSeenAt: now.addingTimeInterval(-state.lagSeconds), lastSeenAt: now,
                    details: ["lag messages": "\(state.lagMessages)", "lag seconds": "\(Int(state.lagSeconds))"]))
            }
            // Burrow: stalled when every sample in the window has lag and the offsets did not move.
            let stalledFrom = now.addingTimeInterval(-rules.lag.stalledAfter.timeInterval)
            let window = history.filter { $0.at >= stalledFrom }
            if let first = history.first, first.at <= stalledFrom, let anchor = history.last(where: { $0.at <= stalledFrom }),
               state.lagMessages > 0, window.allSatisfy({ $0.lag > 0 && $0.position == anchor.position }), state.position == anchor.position {
                conditions.append(AlertCondition(
                    key: "stalled/\(stage)", severity: .critical, kind: .consumerStalled,
                    title: "The \(stage) is stalled: no progress for \(Self.minutes(now.timeIntervalSince(anchor.at))) with \(state.lagMessages) messages waiting",
                    summary: "Its workers (\(workers)) report, but their offsets have not moved since \(Self.time(anchor.at)) while messages wait. A handler may be stuck, or a downstream system down; look at its logs.",
                    stage: stage, count: 1, firstSeenAt: anchor.at, lastSeenAt: now,
                    details: ["lag messages": "\(state.lagMessages)", "position": "\(state.position)"]))
                continue
            }
            // Falling behind: offsets move, yet the lag only grew over the window.
            let growingFrom = now.addingTimeInterval(-rules.lag.growingFor.timeInterval)
            if let anchor = history.last(where: { $0.at <= growingFrom }) {
                let span = history.filter { $0.at >= anchor.at }.map(\.lag) + [state.lagMessages]
                let neverShrank = zip(span, span.dropFirst()).allSatisfy { $0 <= $1 }
                if neverShrank, state.lagMessages > anchor.lag, state.position > anchor.position {
                    conditions.append(AlertCondition(
                        key: "growing/\(stage)", severity: .warning, kind: .consumerLag,
                        title: "The \(stage) is falling behind: lag grew from \(anchor.lag) to \(state.lagMessages) messages in \(Self.minutes(now.timeIntervalSince(anchor.at)))",
                        summary: "It is working (its offsets moved by \(state.position - anchor.position)) but slower than messages arrive. Add workers (up to the partition count) or look for a slow downstream.",
                        stage: stage, count: 1, firstSeenAt: anchor.at, lastSeenAt: now,
                        details: ["lag then": "\(anchor.lag)", "lag now": "\(state.lagMessages)"]))
                }
            }
        }
        return conditions
    }

    // MARK: Workers that stopped reporting

    func missingWorkers(_ seen: AlerterObservations, now: Date) -> [AlertCondition] {
        var missingByStage: [String: [WorkerStatus]] = [:]
        for status in seen.workers.values where status.state == .running {
            let silentFor = now.timeIntervalSince(status.reportedAt.date)
            guard silentFor > rules.workers.missingAfter.timeInterval else { continue }
            // Replaced: a worker of the same stage that began reporting after this one went silent.
            let replaced = seen.workers.values.contains { other in
                other.stage == status.stage && other.state == .running && other.worker != status.worker
                    && now.timeIntervalSince(other.reportedAt.date) <= rules.workers.missingAfter.timeInterval
                    && (other.startedAt?.date ?? seen.workersFirstSeen[other.worker] ?? .distantPast) > status.reportedAt.date
            }
            if !replaced { missingByStage[status.stage, default: []].append(status) }
        }
        let live = stageStates(seen, now: now)
        return missingByStage.map { stage, missing in
            let names = missing.map(\.worker).sorted()
            let since = missing.map(\.reportedAt.date).min()!
            let alive = live[stage]?.workers.count ?? 0
            return AlertCondition(
                key: "worker-missing/\(stage)", severity: alive == 0 ? .critical : .warning, kind: .workerMissing,
                title: alive == 0 ? "No \(stage) worker is reporting: the \(stage) is down since \(Self.time(since))"
                    : "\(names.count) \(stage) worker(s) stopped reporting since \(Self.time(since)); \(alive) still running",
                summary: "Last heartbeat of \(names.joined(separator: ", ")) at \(Self.time(since)), and no replacement reported since. Check the pods (crash loop, eviction) and their logs.",
                stage: stage, count: names.count, firstSeenAt: since, lastSeenAt: now, examples: names,
                details: ["workers still running": "\(alive)"])
        }
    }

    // MARK: Salesforce API budget

    func apiBudget(_ seen: AlerterObservations, now: Date) -> [AlertCondition] {
        var conditions: [AlertCondition] = []
        let usages = seen.workers.values.compactMap { status in status.apiUsage.map { (status, $0) } }
            .filter { now.timeIntervalSince($0.0.reportedAt.date) <= rules.workers.missingAfter.timeInterval }
        if let (status, usage) = usages.max(by: { $0.1.used < $1.1.used }), Double(usage.used) >= Double(usage.limit) * rules.apiBudget.share {
            let percent = Int((Double(usage.used) * 100 / Double(usage.limit)).rounded())
            conditions.append(AlertCondition(
                key: "api-budget/salesforce", severity: .warning, kind: .apiBudget,
                title: "Salesforce API use at \(percent) % of the daily limit (\(usage.used) of \(usage.limit))",
                summary: "The alert threshold is \(Int(rules.apiBudget.share * 100)) %; the loader pauses at its own share. Other integrations share this limit.",
                stage: status.stage, count: 1, firstSeenAt: status.reportedAt.date, lastSeenAt: now,
                details: ["used": "\(usage.used)", "limit": "\(usage.limit)"]))
        }
        // The loader's own word that it paused: holds for an hour after the last one.
        let recent = seen.budgetAlerts.filter { now.timeIntervalSince($0.key) <= 3_600 }
        if let (at, alert) = recent.max(by: { $0.key < $1.key }) {
            conditions.append(AlertCondition(
                key: "api-budget/loader-paused", severity: .critical, kind: .apiBudget, title: alert.title, summary: alert.summary,
                stage: alert.stage ?? "loader", count: recent.count, firstSeenAt: recent.keys.min() ?? at, lastSeenAt: at))
        }
        return conditions
    }
}
