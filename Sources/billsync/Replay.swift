import ArgumentParser
import BillsyncContracts
import BillsyncKafka
import BillsyncOperations
import BillsyncTopics
import BillsyncTransformer
import Foundation
import Logging

/// Backfills: a range of a topic re-published into the stages that read it, or a stage's
/// consumer group moved back. A dry run first, always.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a range of a topic for a backfill: re-publish it (default) or move a stage's group back (--reset-group). A dry run unless --apply.",
        discussion: """
        The dry run predicts the effect: messages per partition, distinct business keys, the time span, and the Salesforce API calls \
        it will cost (raw topics are mapped with --mapping to count the upserts). Re-published messages carry billsync.replay-id: the \
        transformer does not suppress them as unchanged, the alerter annotates instead of paging, lineage shows them. Ctrl-C stops a \
        run; --resume <id> with the same selection sends the rest. Every replay is recorded on the operator activity topic.
        """
    )

    @Argument(help: "The topic to replay (as `billsync topics list` names it): a raw topic, the upserts topic, …") var topic: String
    @Option(help: "From this time (ISO 8601, the message's timestamp) or offset (120 for every partition, 0:120,1:130 per partition); inclusive.")
    var from: String?
    @Option(help: "Up to this time or offset; exclusive. Not with --reset-group (a group reads on to the end).") var to: String?
    @Option(name: .customLong("key"), help: "Only this business key (repeatable).") var keys: [String] = []
    @Option(help: "Only raw records of this billing cycle (YYYY-MM: a bill's last bill date, a reading's date).") var period: String?
    @Option(help: "Re-publish into this topic instead of the topic itself.") var into: String?
    @Option(name: .customLong("reset-group"), help: "Move this stage's consumer group back to --from instead of re-publishing (transformer, rollup, loader, …).")
    var resetGroup: String?
    @Flag(help: "Do it (without it: predict what it would do).") var apply = false
    @Option(help: "At most this many messages a second.") var rate: Double?
    @Option(help: "Go on with an interrupted replay (its id, as it printed), with the same selection.") var resume: String?
    @Option(help: "Who runs it, for the record (default: $USER).") var by = ProcessInfo.processInfo.environment["USER"] ?? "operator"
    @Option(help: "The transformer's mapping, to estimate what raw records cost in Salesforce calls.") var mapping = "Deploy/transformer/mapping.yaml"
    @Option(help: "Prefix of the fleet's topics (BILLSYNC_TOPIC_PREFIX).")
    var prefix = ProcessInfo.processInfo.environment["BILLSYNC_TOPIC_PREFIX"] ?? "billsync"

    func validate() throws {
        if let period, period.range(of: #"^\d{4}-(0[1-9]|1[0-2])$"#, options: .regularExpression) == nil {
            throw ValidationError("--period '\(period)' is not a billing cycle like 2026-11")
        }
        if let resetGroup {
            guard TopicCatalog.stages.contains(Stage(rawValue: resetGroup)) else {
                throw ValidationError("--reset-group '\(resetGroup)' is not a stage; one of \(TopicCatalog.stages.map(\.rawValue).joined(separator: ", "))")
            }
            let conflicting = [(to, "--to"), (period, "--period"), (into, "--into"), (resume, "--resume"), (rate.map { "\($0)" }, "--rate")]
                .filter { $0.0 != nil }.map(\.1) + (keys.isEmpty ? [] : ["--key"])
            guard conflicting.isEmpty else {
                throw ValidationError("--reset-group moves the whole group: it cannot take \(conflicting.joined(separator: ", ")); re-publish for a narrower replay")
            }
        }
    }

    func run() async throws {
        let logger = try startCommand("billsync.replay")
        let contracts = try MessageContracts(directory: MessageContracts.defaultDirectory())
        let catalog = TopicCatalog(prefix: prefix)
        let selection = ReplaySelection(topic: topic, from: try bound(from, "from"), to: try bound(to, "to"), keys: Set(keys), period: period)
        let upserts = try upsertEstimator(catalog: catalog, contracts: contracts)
        let groupID = "\(prefix)-cli-replay"
        try await withKafkaClients {
            let admin = try KafkaAdmin(connection: environmentConnection, logger: logger)
            let topics = Dictionary(try await admin.listTopics().map { ($0.name, $0.partitions.count) }, uniquingKeysWith: { first, _ in first })
            let missing = [topic, into].compactMap { $0 }.filter { topics[$0] == nil }
            guard missing.isEmpty else { throw OperatorError.missingTopics(missing) }
            let snapshot = try await BillsyncOperations.Replay.read(selection, partitions: Int32(topics[topic]!), connection: environmentConnection,
                                                                    groupID: groupID, logger: logger)
            if let resetGroup {
                try await reset(stage: Stage(rawValue: resetGroup), selection: selection, snapshot: snapshot, catalog: catalog, contracts: contracts, admin: admin,
                                upserts: upserts, logger: logger)
            } else {
                try await republish(selection: selection, snapshot: snapshot, catalog: catalog, contracts: contracts, upserts: upserts,
                                    groupID: groupID, logger: logger)
            }
        }
    }

    func republish(selection: ReplaySelection, snapshot: KafkaTopicSnapshot.Snapshot, catalog: TopicCatalog, contracts: MessageContracts,
                   upserts: (KafkaConsumerMessage) -> [ReplayEffect.Upsert], groupID: String, logger: Logger) async throws {
        let replay = BillsyncOperations.Replay(catalog: catalog, contracts: contracts)
        var resuming: OperatorActivity?
        if let resume {
            let activities = try await Republisher.activities(connection: environmentConnection, catalog: catalog, contracts: contracts,
                                                              groupID: groupID, logger: logger)
            guard let stopped = activities.last(where: { $0.kind == .replay && $0.activityId.uuidString.lowercased() == resume.lowercased() }) else {
                throw ValidationError("no replay \(resume) on \(catalog.operatorActivity)")
            }
            guard stopped.finishedAt == nil || stopped.result?.hasPrefix("completed") != true else {
                throw ValidationError("replay \(resume) completed: there is nothing to resume")
            }
            guard stopped.filter == BillsyncOperations.Replay.filter(selection, into: into ?? topic) else {
                throw ValidationError("replay \(resume) selected \(stopped.filter ?? "?"); give the same selection to resume it")
            }
            resuming = stopped
        }
        let plan = replay.plan(snapshot.messages, selection: selection, into: into, after: resuming?.through ?? [:],
                               resuming: resuming?.activityId, upserts: upserts)
        let readers = replay.readers(of: plan.into).map(\.rawValue)
        print("replay \(selection) into \(plan.into) (read by \(readers.isEmpty ? "no stage" : readers.joined(separator: ", ")))"
              + (resuming.map { ", resuming \($0.activityId.uuidString.lowercased()) after \($0.count ?? 0) sent" } ?? ""))
        print(plan.effect.text())
        guard apply else { print("dry run: nothing sent; add --apply to send"); return }
        guard !plan.messages.isEmpty else { return }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: environmentConnection), logger: logger)
        let work = Task { [resuming, rate, by] in
            try await replay.run(plan, by: by, rate: rate, producer: producer, resuming: resuming) { done, total in
                DeadLetterText.progress(done, total)
            }
        }
        defer { Task { await producer.shutdown() } }
        let activity = try await interruptible(work)
        await producer.shutdown()
        print("\n\(activity.result ?? "done") (recorded as replay \(activity.activityId.uuidString.lowercased()))")
    }

    func reset(stage: Stage, selection: ReplaySelection, snapshot: KafkaTopicSnapshot.Snapshot, catalog: TopicCatalog, contracts: MessageContracts,
               admin: KafkaAdmin, upserts: (KafkaConsumerMessage) -> [ReplayEffect.Upsert], logger: Logger) async throws {
        guard catalog.inputs(of: stage).contains(topic) else {
            throw ValidationError("the \(stage.rawValue) stage does not read \(topic); it reads \(catalog.inputs(of: stage).joined(separator: ", "))")
        }
        let group = catalog.group(of: stage)
        let committed = try await admin.consumerGroupOffsets(group, partitions: Array(snapshot.ends.keys))
        let plan = GroupReset.plan(stage: stage, group: group, selection: selection, snapshot: snapshot, committed: committed, upserts: upserts)
        print(plan.text)
        guard apply else { print("dry run: group not moved; add --apply to move it"); return }
        do {
            try await GroupReset.apply(plan, admin: admin)
        } catch let refused as GroupReset.Refused {
            throw OperatorError.refused(refused.description)
        } catch let failed as GroupReset.NotApplied {
            throw OperatorError.failed(failed.description)
        }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: environmentConnection), logger: logger)
        let activity = OperatorActivity(kind: .replay, stages: [stage.rawValue], startedAt: .now, finishedAt: .now, startedBy: by,
                                        description: "group \(group) reset on \(topic): \(plan.effect.messages) messages to read again",
                                        filter: "\(selection) reset-group=\(stage.rawValue)", count: plan.effect.messages, parked: 0,
                                        result: "completed: group moved, offsets read back", through: [:])
        do {
            try await Republisher(catalog: catalog, contracts: contracts).record(activity, producer: producer)
        } catch {
            await producer.shutdown()
            throw error
        }
        await producer.shutdown()
        print("group \(group) moved; \(plan.effect.messages) messages will be read again when the \(stage.rawValue) workers start (recorded as replay \(activity.activityId.uuidString.lowercased()))")
    }

    func bound(_ text: String?, _ name: String) throws -> ReplaySelection.Bound? {
        guard let text else { return nil }
        guard let bound = ReplaySelection.Bound(parsing: text) else {
            throw ValidationError("--\(name) '\(text)' is neither a time (2026-11-20T09:00:00Z) nor an offset (120, or 0:120,1:130)")
        }
        return bound
    }

    /// Which upserts a message of this topic becomes: the upserts topic's are upserts; raw
    /// records are mapped as the transformer would map them.
    func upsertEstimator(catalog: TopicCatalog, contracts: MessageContracts) throws -> (KafkaConsumerMessage) -> [ReplayEffect.Upsert] {
        let target = into ?? topic
        if target == catalog.upsertCommands {
            return { message in
                guard let upsert = try? contracts.decode(message.value ?? [], as: CRMUpsert.self).payload else { return [] }
                return [ReplayEffect.Upsert(object: upsert.object, externalId: upsert.externalId)]
            }
        }
        guard TopicCatalog.transformerEntities.map(catalog.rawTopic).contains(target) else { return { _ in [] } }
        let document = try Mapping.load(mapping)
        let mapper = try RecordMapper(document: document, lookupDirectory: URL(fileURLWithPath: mapping).deletingLastPathComponent())
        return { message in
            guard let envelope = try? contracts.decode(message.value ?? [], as: AnyBillingRecord.self) else { return [] }
            return mapper.map(envelope.payload.fields, type: envelope.type).compactMap { try? $0.get() }
                .map { ReplayEffect.Upsert(object: $0.object, externalId: $0.externalId) }
        }
    }
}

/// Runs `work` until it ends or Ctrl-C cancels it; a run that stopped (and recorded where) ends
/// the command with its result and exit code 130 (interrupted) or 1 (failed).
func interruptible<Success: Sendable>(_ work: Task<Success, any Error>) async throws -> Success {
    let interrupt = DispatchSource.makeSignalSource(signal: SIGINT)
    signal(SIGINT, SIG_IGN)
    interrupt.setEventHandler { work.cancel() }
    interrupt.resume()
    defer {
        interrupt.cancel()
        signal(SIGINT, SIG_DFL)
    }
    do {
        return try await work.value
    } catch let stopped as Republisher.Stopped {
        FileHandle.standardError.write(Data("\n".utf8))
        throw stopped.interrupted ? OperatorError.interrupted(stopped.description) : OperatorError.failed(stopped.description)
    }
}
