import ArgumentParser
import BillsyncContracts
import BillsyncKafka
import BillsyncOperations
import BillsyncTopics
import Foundation
import Logging

/// The dead letters of a fleet: grouped, one by one, and sent back where they failed.
struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "List, show and redrive dead letters.",
        subcommands: [List.self, Show.self, Redrive.self]
    )

    struct Selection: ParsableArguments {
        @Option(help: "Prefix of the fleet's topics (BILLSYNC_TOPIC_PREFIX).")
        var prefix = ProcessInfo.processInfo.environment["BILLSYNC_TOPIC_PREFIX"] ?? "billsync"
        @Option(help: "Only this stage's dead letters.") var stage: String?
        @Option(help: "Only this error code.") var code: String?
        @Option(help: "Only this field (the pointer or column the dead letter names).") var field: String?
        @Option(name: .customLong("key"), help: "Only this business key (repeatable).") var keys: [String] = []
        @Option(help: "Only dead letters from this time on (ISO 8601).") var since: String?
        @Option(help: "Only dead letters up to this time (ISO 8601).") var until: String?

        func filter() throws -> DeadLetterFilter {
            func date(_ text: String?, _ name: String) throws -> Date? {
                guard let text else { return nil }
                guard let date = Timestamp(parsing: text)?.date ?? ISO8601DateFormatter().date(from: text) else {
                    throw ValidationError("--\(name) '\(text)' is not an ISO 8601 time, like 2026-11-20T09:00:00Z")
                }
                return date
            }
            return DeadLetterFilter(stage: stage, code: code, field: field, keys: Set(keys), since: try date(since, "since"), until: try date(until, "until"))
        }

        func entries(logger: Logger) async throws -> [DeadLetterEntry] {
            try await withKafkaClients {
                try await DeadLetterReader.read(connection: environmentConnection, catalog: TopicCatalog(prefix: prefix),
                                                groupID: "\(prefix)-cli-dlq", logger: logger)
            }.filter(try filter().matches)
        }
    }

    static func time(_ date: Date?) -> String {
        date.map { ISO8601DateFormatter().string(from: $0) } ?? "-"
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Dead letters grouped by stage, error code and field.")
        @OptionGroup var selection: Selection
        @Flag(help: "JSON lines instead of a table.") var json = false
        @Flag(help: "One line per dead letter (its address for `dlq show`) instead of groups.") var records = false

        func run() async throws {
            let logger = try startCommand("billsync.dead-letters")
            let entries = try await selection.entries(logger: logger)
            if records {
                for entry in entries {
                    print("\(entry.address)  \(entry.facts.stage)  \(entry.facts.code)  \(entry.facts.field ?? "-")  \(entry.facts.example)  \(DeadLetters.time(entry.deadLetteredAt))")
                }
                return
            }
            let groups = DeadLetterGroupSummary.of(entries)
            if json {
                for group in groups {
                    let object: [String: Any] = ["stage": group.stage, "code": group.code, "field": group.field ?? NSNull(), "count": group.count,
                                                 "first": DeadLetters.time(group.first), "last": DeadLetters.time(group.last),
                                                 "examples": group.examples, "reason": group.reason]
                    print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
                }
                return
            }
            guard !groups.isEmpty else { print("no dead letters"); return }
            var table = TextTable(["stage", "code", "field", "count", "first", "last", "examples"])
            for group in groups {
                table.add([group.stage, group.code, group.field ?? "-", "\(group.count)", DeadLetters.time(group.first), DeadLetters.time(group.last),
                           group.examples.joined(separator: ", ")])
            }
            print(table.rendered())
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One dead letter: where, why, its headers and its value, secrets masked.")
        @Option(help: "Prefix of the fleet's topics (BILLSYNC_TOPIC_PREFIX).")
        var prefix = ProcessInfo.processInfo.environment["BILLSYNC_TOPIC_PREFIX"] ?? "billsync"
        @Argument(help: "topic:partition:offset, as `dlq list --json` or an alert names it.") var address: String

        func run() async throws {
            let logger = try startCommand("billsync.dead-letters")
            let entries = try await withKafkaClients {
                try await DeadLetterReader.read(connection: environmentConnection, catalog: TopicCatalog(prefix: prefix),
                                                groupID: "\(prefix)-cli-dlq", logger: logger)
            }
            guard let entry = entries.first(where: { $0.address == address }) else { throw ValidationError("no dead letter at \(address)") }
            print(DeadLetterText.describe(entry))
        }
    }

    struct Redrive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send dead letters back to the topic they failed from. A dry run unless --apply.",
            discussion: "Redriven messages carry billsync.replay-id (the alerter annotates instead of paging) and a redrive count; one redriven --limit times goes to the parking topic instead. Every redrive is recorded on the operator activity topic (who, when, filter, count, result)."
        )
        @OptionGroup var selection: Selection
        @Flag(help: "Send them (without it: say what would be sent).") var apply = false
        @Option(help: "At most this many messages a second.") var rate: Double?
        @Option(help: "Redrives before a dead letter is parked instead.") var limit = 3
        @Option(name: .customLong("set"), help: "A fix: /json/pointer=value (repeatable), e.g. /payload/fields/MailingStreet='12 Short St'.")
        var fixes: [String] = []
        @Option(help: "Who runs it, for the record (default: $USER).") var by = ProcessInfo.processInfo.environment["USER"] ?? "operator"
        @Option(help: "Go on with an interrupted redrive (its id, as it printed), with the same selection.") var resume: String?

        func run() async throws {
            let logger = try startCommand("billsync.dead-letters")
            let parsedFixes = try fixes.map { text -> BillsyncOperations.Redrive.Fix in
                guard let fix = BillsyncOperations.Redrive.Fix(text) else { throw ValidationError("--set '\(text)' is not /json/pointer=value") }
                return fix
            }
            let contracts = try MessageContracts(directory: MessageContracts.defaultDirectory())
            let catalog = TopicCatalog(prefix: selection.prefix)
            let redrive = BillsyncOperations.Redrive(catalog: catalog, contracts: contracts, limit: limit, fixes: parsedFixes)
            let filter = try selection.filter()
            var resuming: OperatorActivity?
            if let resume {
                let activities = try await withKafkaClients {
                    try await Republisher.activities(connection: environmentConnection, catalog: catalog, contracts: contracts,
                                                     groupID: "\(selection.prefix)-cli-dlq", logger: logger)
                }
                guard let stopped = activities.last(where: { $0.kind == .redrive && $0.activityId.uuidString.lowercased() == resume.lowercased() }) else {
                    throw ValidationError("no redrive \(resume) on \(catalog.operatorActivity)")
                }
                guard stopped.filter == filter.description else {
                    throw ValidationError("redrive \(resume) selected \(stopped.filter ?? "?"); give the same selection to resume it")
                }
                resuming = stopped
            }
            let resumed = resuming
            let plan = redrive.plan(try await selection.entries(logger: logger), filter: filter, after: resumed?.through ?? [:])
            print(DeadLetterText.plan(plan, filter: filter))
            // A fix that breaks a message's contract is found before anything is sent.
            for entry in plan.send { _ = try redrive.message(for: entry, replayID: "dry-run") }
            guard apply else { print("dry run: nothing sent; add --apply to send"); return }
            guard !plan.send.isEmpty || !plan.park.isEmpty else { return }
            let activity = try await withKafkaClients {
                let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: environmentConnection), logger: logger)
                defer { Task { await producer.shutdown() } }
                let work = Task { [rate, by] in
                    try await redrive.run(plan, filter: filter, by: by, rate: rate, producer: producer, resuming: resumed) { done, total in
                        DeadLetterText.progress(done, total)
                    }
                }
                let activity = try await interruptible(work)
                await producer.shutdown()
                return activity
            }
            print("\n\(activity.result ?? "done") (recorded as \(activity.kind.rawValue) \(activity.activityId.uuidString.lowercased()))")
        }
    }
}
