import BillsyncContracts
import BillsyncKafka
import BillsyncTopics
import Foundation
import Logging

/// Sends messages taken from one topic to another, for the operator: paced (`rate`), reported
/// (`progress`), interruptible (Ctrl-C cancels the task) and resumable, with the operator
/// activity record on its compacted topic kept up to date: started, every 100 messages with how
/// far it got per source partition (`through`), and finished with its result. Redrive and
/// replay both go through here.
public struct Republisher: Sendable {
    /// One message to send, and where it was taken from.
    public struct Step: Sendable {
        public var source: FleetFacts.Position
        public var message: KafkaProducerMessage
        /// Counted as parked rather than sent (and not paced).
        public var parks: Bool

        public init(source: FleetFacts.Position, message: KafkaProducerMessage, parks: Bool = false) {
            self.source = source
            self.message = message
            self.parks = parks
        }
    }

    /// A run that stopped before the end (Ctrl-C, a failed send), after recording how far it got.
    public struct Stopped: Error, CustomStringConvertible {
        public let activity: OperatorActivity
        public let cause: any Error

        public var interrupted: Bool { cause is CancellationError }
        public var description: String { activity.result ?? "\(cause)" }
    }

    public var catalog: TopicCatalog
    public var contracts: MessageContracts

    public init(catalog: TopicCatalog, contracts: MessageContracts) {
        self.catalog = catalog
        self.contracts = contracts
    }

    /// `through` key of a source partition.
    public static func key(_ position: FleetFacts.Position) -> String { "\(position.topic):\(position.partition)" }

    /// Sends `steps` in source order. `activity` is a new record or, to resume, the stopped one
    /// (its counts go on). `message` builds each step's message once its turn comes, with the
    /// activity's id as replay id, so a resumed run marks its messages like the first part.
    public func run(_ steps: [Step], activity started: OperatorActivity, rate: Double?, producer: KafkaProducer,
                    progress: @Sendable (Int, Int) -> Void = { _, _ in }) async throws -> OperatorActivity {
        var activity = started
        activity.finishedAt = nil
        activity.result = nil
        try await record(activity, producer: producer)
        let previouslySent = activity.count ?? 0
        let toSend = steps.filter { !$0.parks }.count
        let clock = ContinuousClock()
        let begun = clock.now
        var sent = 0
        var failure: (any Error)?
        do {
            for step in steps.sorted(by: { ($0.source.topic, $0.source.partition, $0.source.offset) < ($1.source.topic, $1.source.partition, $1.source.offset) }) {
                try Task.checkCancellation()
                if step.parks {
                    try await deliver(step.message, producer: producer)
                    activity.parked = (activity.parked ?? 0) + 1
                } else {
                    if let rate, rate > 0 {
                        // Paced against the start, so one slow send does not slow the whole run further.
                        try await clock.sleep(until: begun + .milliseconds(Int64(Double(sent) * 1000 / rate)))
                    }
                    try await deliver(step.message, producer: producer)
                    sent += 1
                    activity.count = previouslySent + sent
                    progress(sent, toSend)
                }
                activity.through = (activity.through ?? [:]).merging([Self.key(step.source): step.source.offset]) { _, new in new }
                if !step.parks, sent % 100 == 0 { try await record(activity, producer: producer) }
            }
        } catch {
            failure = error
        }
        activity.finishedAt = .now
        let id = activity.activityId.uuidString.lowercased()
        let parked = activity.kind == .redrive ? ", \(activity.parked ?? 0) parked" : ""
        activity.result = switch failure {
        case nil: "completed: \(activity.count ?? 0) \(activity.kind == .redrive ? "redriven" : "replayed")\(parked)"
        case is CancellationError: "interrupted after \(activity.count ?? 0)\(parked); resume with --resume \(id)"
        case let error?: "failed after \(activity.count ?? 0)\(parked): \(error); resume with --resume \(id)"
        }
        try await record(activity, producer: producer)
        if let failure { throw Stopped(activity: activity, cause: failure) }
        return activity
    }

    func deliver(_ message: KafkaProducerMessage, producer: KafkaProducer) async throws {
        let report = try await producer.send(message)
        if let error = report.error { throw error }
    }

    /// Writes the activity to the operator activity topic, which the alerter reads to annotate
    /// instead of page, and `--resume` reads to go on.
    public func record(_ activity: OperatorActivity, producer: KafkaProducer) async throws {
        let envelope = MessageEnvelope(source: MessageSource(system: .billsync, name: "cli"), businessKey: activity.activityId.uuidString,
                                       occurredAt: .now, payload: activity)
        try await deliver(KafkaProducerMessage(topic: catalog.operatorActivity, key: Array(activity.activityId.uuidString.utf8),
                                               value: try contracts.encode(envelope)), producer: producer)
    }

    /// The activities recorded so far, latest version of each, in the order they were last written.
    public static func activities(connection: KafkaConnection, catalog: TopicCatalog, contracts: MessageContracts, groupID: String,
                                  logger: Logger) async throws -> [OperatorActivity] {
        let snapshot = try await KafkaTopicSnapshot.read([KafkaTopicPartition(topic: catalog.operatorActivity, partition: 0)],
                                                         connection: connection, groupID: groupID, logger: logger)
        var latest: [UUID: (Int, OperatorActivity)] = [:]
        for (index, message) in snapshot.messages.enumerated() {
            guard let activity = try? contracts.decode(message.value ?? [], as: OperatorActivity.self).payload else { continue }
            latest[activity.activityId] = (index, activity)
        }
        return latest.values.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
