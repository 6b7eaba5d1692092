import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncTopics
import Foundation
import Logging

/// The fleet at a glance, for `billsync status`: per stage its workers, lag (messages and
/// seconds), throughput, retry and dead-letter depth; the last successful load per object; the
/// API budget. Read from the workers' heartbeats, the dead-letter topics and the alerter's state.
public struct FleetStatus: Sendable, Codable {
    public struct Worker: Sendable, Codable {
        public var name: String
        public var state: String
        /// Seconds since its last heartbeat.
        public var silentFor: Double
        /// Messages a second since it started.
        public var throughput: Double?
    }

    public struct StagePartition: Sendable, Codable {
        public var topic: String
        public var partition: Int
        public var lagMessages: Int64
        public var lagSeconds: Double
    }

    public struct StageLine: Sendable, Codable {
        public var stage: String
        public var workers: [Worker] = []
        /// Members of the stage's consumer group, as the group coordinator names them.
        public var groupMembers: [String] = []
        /// Group members beyond the running workers that report: a consumer with heartbeats
        /// off, another tool in the group, or a worker that hangs without leaving.
        public var membersWithoutHeartbeat = 0
        public var partitions: [StagePartition] = []
        public var lagMessages: Int64 = 0
        public var lagSeconds: Double = 0
        /// Messages waiting in its retry topics.
        public var inRetry: Int64 = 0
        /// Messages in its dead-letter topic (within retention).
        public var deadLetters = 0
    }

    public var stages: [StageLine]
    /// Object → its last successful load, as the alerter last recorded it.
    public var lastLoads: [String: Date]
    public var apiUsed: Int?
    public var apiLimit: Int?
    public var takenAt: Date

    /// A worker silent for longer than this is shown as missing.
    public static let missingAfter: TimeInterval = 60

    public static func read(connection: KafkaConnection, catalog: TopicCatalog, contracts: MessageContracts, groupID: String,
                            logger: Logger, now: Date = Date()) async throws -> FleetStatus {
        let tables = try await KafkaTopicSnapshot.read(
            [catalog.workers, catalog.alerterState].map { KafkaTopicPartition(topic: $0, partition: 0) },
            connection: connection, groupID: groupID, logger: logger)
        var heartbeats: [String: WorkerStatus] = [:]
        var loads: [String: Date] = [:]
        for message in tables.messages {
            guard let value = message.value else { continue }
            if message.topic == catalog.workers, let status = try? contracts.decode(value, as: WorkerStatus.self).payload {
                heartbeats[status.worker] = status
            } else if message.topic == catalog.alerterState, let state = try? contracts.decode(value, as: AlertState.self).payload,
                      state.kind == .objectLoads, let object = state.data?["object"]?.stringValue {
                loads[object] = state.data?["lastSuccessAt"].flatMap(Self.date)
            }
        }
        let deadLetters = try await DeadLetterReader.read(connection: connection, catalog: catalog, groupID: groupID, logger: logger)
        let groups = try await KafkaAdmin(connection: connection, logger: logger).describeConsumerGroups(TopicCatalog.stages.map(catalog.group(of:)))
        var members: [String: [String]] = [:]
        for stage in TopicCatalog.stages {
            members[stage.rawValue] = groups.first { $0.group == catalog.group(of: stage) }?.members.map(\.name).sorted() ?? []
        }
        return FleetStatus(heartbeats: Array(heartbeats.values), deadLetters: deadLetters, lastLoads: loads.compactMapValues { $0 },
                           groupMembers: members, catalog: catalog, now: now)
    }

    /// A date as the alerter's state writes one (JSONEncoder's default: seconds since 2001).
    static func date(_ value: JSONValue) -> Date? {
        if case let .number(number) = value, let seconds = Double(number.text) { return Date(timeIntervalSinceReferenceDate: seconds) }
        return value.stringValue.flatMap { Timestamp(parsing: $0)?.date }
    }

    public init(heartbeats: [WorkerStatus], deadLetters: [DeadLetterEntry], lastLoads: [String: Date], groupMembers: [String: [String]] = [:],
                catalog: TopicCatalog, now: Date) {
        var lines: [String: StageLine] = [:]
        for stage in TopicCatalog.stages { lines[stage.rawValue] = StageLine(stage: stage.rawValue) }
        var newest: [String: [String: (Date, WorkerStatus.Partition)]] = [:]
        for status in heartbeats where status.state == .running || now.timeIntervalSince(status.reportedAt.date) < Self.missingAfter {
            var line = lines[status.stage] ?? StageLine(stage: status.stage)
            let uptime = status.startedAt.map { now.timeIntervalSince($0.date) } ?? 0
            let silent = now.timeIntervalSince(status.reportedAt.date)
            line.workers.append(Worker(name: status.worker, state: status.state == .stopped ? "stopped" : silent > Self.missingAfter ? "missing" : "running",
                                       silentFor: silent, throughput: uptime > 0 ? Double(status.handled) / uptime : nil))
            lines[status.stage] = line
            guard status.state == .running, silent <= Self.missingAfter else { continue }
            for partition in status.partitions {
                let id = "\(partition.topic)/\(partition.partition)"
                if let known = newest[status.stage]?[id], known.0 > status.reportedAt.date { continue }
                newest[status.stage, default: [:]][id] = (status.reportedAt.date, partition)
            }
        }
        for (stage, partitions) in newest {
            let retries = Set(catalog.retryTopics(stage: Stage(stage)))
            for (_, partition) in partitions.values.sorted(by: { ($0.1.topic, $0.1.partition) < ($1.1.topic, $1.1.partition) }) {
                lines[stage]!.partitions.append(StagePartition(topic: partition.topic, partition: partition.partition,
                                                               lagMessages: partition.lagMessages, lagSeconds: partition.lagSeconds))
                lines[stage]!.lagMessages += partition.lagMessages
                lines[stage]!.lagSeconds = max(lines[stage]!.lagSeconds, partition.lagSeconds)
                if retries.contains(partition.topic) { lines[stage]!.inRetry += partition.lagMessages }
            }
        }
        for entry in deadLetters where entry.facts.stage != .extractor {
            lines[entry.facts.stage.rawValue, default: StageLine(stage: entry.facts.stage.rawValue)].deadLetters += 1
        }
        let extractorRows = deadLetters.filter { $0.facts.stage == .extractor }.count
        if extractorRows > 0 || heartbeats.contains(where: { $0.stage == Stage.extractor.rawValue }) {
            lines[Stage.extractor.rawValue, default: StageLine(stage: Stage.extractor.rawValue)].deadLetters = extractorRows
        }
        for (stage, names) in groupMembers {
            var line = lines[stage] ?? StageLine(stage: stage)
            line.groupMembers = names
            line.membersWithoutHeartbeat = max(0, names.count - line.workers.filter { $0.state == "running" }.count)
            lines[stage] = line
        }
        stages = lines.values.sorted { $0.stage < $1.stage }
        self.lastLoads = lastLoads
        let usage = heartbeats.compactMap(\.apiUsage).max { $0.used < $1.used }
        apiUsed = usage?.used
        apiLimit = usage?.limit
        takenAt = now
    }

    /// The table `billsync status` prints.
    public var text: String {
        var table = TextTable(["stage", "workers", "lag", "behind", "in retry", "dead letters", "throughput"], numericColumns: [2, 4, 5])
        for line in stages {
            let running = line.workers.filter { $0.state == "running" }
            let missing = line.workers.filter { $0.state == "missing" }.count
            let workers = "\(running.count) running" + (missing > 0 ? ", \(missing) missing" : "")
                + (line.membersWithoutHeartbeat > 0 ? ", \(line.membersWithoutHeartbeat) in group without heartbeat" : "")
            let throughput = running.compactMap(\.throughput).reduce(0, +)
            table.add([line.stage, workers, "\(line.lagMessages)", Self.duration(line.lagSeconds), "\(line.inRetry)", "\(line.deadLetters)",
                       running.isEmpty ? "-" : String(format: "%.1f/s", throughput)])
        }
        var out = [table.rendered()]
        let formatter = ISO8601DateFormatter()
        if !lastLoads.isEmpty {
            out.append("last successful load: " + lastLoads.sorted { $0.key < $1.key }.map {
                "\($0.key) \(formatter.string(from: $0.value)) (\(Self.duration(takenAt.timeIntervalSince($0.value))) ago)"
            }.joined(separator: "; "))
        }
        if let apiUsed, let apiLimit {
            out.append("Salesforce API: \(apiUsed) of \(apiLimit) today (\(Int((Double(apiUsed) * 100 / Double(apiLimit)).rounded())) %)")
        }
        return out.joined(separator: "\n")
    }

    static func duration(_ seconds: Double) -> String {
        seconds < 1 ? "0 s" : seconds < 120 ? "\(Int(seconds)) s" : seconds < 7_200 ? "\(Int(seconds / 60)) min" : "\(Int(seconds / 3_600)) h"
    }
}
