import ArgumentParser
import BillsyncContracts
import BillsyncKafka
import BillsyncOperations
import BillsyncRuntime
import BillsyncTopics
import Foundation
import Logging

/// Silences of alert groups: written to the fleet's silences topic, which the alerter follows.
struct Silences: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "silence",
        abstract: "Hold back the alerter's notifications of matching groups for a while, and list what is silenced.",
        subcommands: [Add.self, List.self, Expire.self]
    )

    struct Options: ParsableArguments {
        @Option(help: "Prefix of the fleet's topics (BILLSYNC_TOPIC_PREFIX).")
        var prefix = ProcessInfo.processInfo.environment["BILLSYNC_TOPIC_PREFIX"] ?? "billsync"
    }

    static func publish(_ silence: Silence, catalog: TopicCatalog, logger: Logger) async throws {
        let contracts = try MessageContracts(directory: MessageContracts.defaultDirectory())
        let envelope = MessageEnvelope(source: MessageSource(system: .billsync, name: "cli"), businessKey: silence.silenceId.uuidString,
                                       occurredAt: .now, payload: silence)
        let value = try contracts.encode(envelope)
        try await withKafkaClients {
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: environmentConnection), logger: logger)
            let report = try await producer.send(KafkaProducerMessage(topic: catalog.silences, key: Array(silence.silenceId.uuidString.utf8), value: value))
            await producer.shutdown()
            if let error = report.error { throw error }
        }
    }

    static func all(catalog: TopicCatalog, logger: Logger) async throws -> [Silence] {
        let contracts = try MessageContracts(directory: MessageContracts.defaultDirectory())
        let snapshot = try await withKafkaClients {
            try await KafkaTopicSnapshot.read([KafkaTopicPartition(topic: catalog.silences, partition: 0)], connection: environmentConnection,
                                              groupID: "\(catalog.prefix)-cli-\(UUID().uuidString.prefix(8))", logger: logger)
        }
        return SilenceBook.latest(snapshot.messages, contracts: contracts)
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Silence every alert group whose labels match all the matchers.")
        @OptionGroup var options: Options
        @Option(name: .customLong("match"), help: "label=value (repeatable): kind, stage, code, field, object, group or source; value * matches any.")
        var matchers: [String] = []
        @Option(name: .customLong("for"), help: "How long, e.g. 30m, 2h, 48h.") var duration = "2h"
        @Option(help: "Why, for whoever reads the list.") var comment: String
        @Option(help: "Who (default: $USER).") var by = ProcessInfo.processInfo.environment["USER"] ?? "operator"

        func run() async throws {
            let logger = try startCommand("billsync.silence")
            guard !matchers.isEmpty else { throw ValidationError("give at least one --match label=value") }
            let parsed: [Silence.Matcher]
            do { parsed = try SilenceBook.matchers(matchers) } catch { throw ValidationError("\(error)") }
            guard let length = WorkerConfiguration.parseDuration(duration), length > .zero else {
                throw ValidationError("--for '\(duration)' is not a duration (like 30m, 2h)")
            }
            let now = Timestamp(Date()).date  // as the silence will say it, to the millisecond
            let silence = Silence(matchers: parsed, startsAt: Timestamp(now), endsAt: Timestamp(now.addingTimeInterval(length.timeInterval)),
                                  createdBy: by, comment: comment)
            try await Silences.publish(silence, catalog: TopicCatalog(prefix: options.prefix), logger: logger)
            print(SilenceBook.describe(silence, now: now))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the silences in force (with --all, ended ones too).")
        @OptionGroup var options: Options
        @Flag(help: "Ended and expired silences too.") var all = false

        func run() async throws {
            let logger = try startCommand("billsync.silence")
            let now = Date()
            let silences = try await Silences.all(catalog: TopicCatalog(prefix: options.prefix), logger: logger)
                .filter { all || SilenceBook.isActive($0, at: now) || $0.startsAt.date > now }
            if silences.isEmpty { print(all ? "no silences" : "no silences in force") }
            for silence in silences { print(SilenceBook.describe(silence, now: now)) }
        }
    }

    struct Expire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a silence now.")
        @OptionGroup var options: Options
        @Argument(help: "The silence's id, as listed.") var id: String

        func run() async throws {
            let logger = try startCommand("billsync.silence")
            let catalog = TopicCatalog(prefix: options.prefix)
            guard var silence = try await Silences.all(catalog: catalog, logger: logger).first(where: { $0.silenceId.uuidString.lowercased() == id.lowercased() }) else {
                throw ValidationError("no silence \(id)")
            }
            silence.deleted = true
            silence.endsAt = Timestamp(Date())
            try await Silences.publish(silence, catalog: catalog, logger: logger)
            print(SilenceBook.describe(silence, now: Date()))
        }
    }
}
