import ArgumentParser
import BillsyncKafka
import BillsyncOperations
import BillsyncTopics
import Foundation

struct Topics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the fleet's topics against the catalog, fix them, or list them.",
        subcommands: [Ensure.self, List.self]
    )

    struct Ensure: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare the cluster's topics with the catalog (partitions, retention, compaction); with --apply, create and fix them.",
            discussion: "Exit 0: every topic is as the catalog says. Exit 3: drift remains (not applied, or not fixable: Kafka never removes partitions)."
        )
        @Option(help: "Partitions per topic (a stage scales to at most this many instances).") var partitions: Int32 = 4
        @Option(help: "Prefix of the fleet's topics (BILLSYNC_TOPIC_PREFIX).")
        var prefix = ProcessInfo.processInfo.environment["BILLSYNC_TOPIC_PREFIX"] ?? "billsync"
        @Flag(help: "Create missing topics and fix what can be fixed (without it: report only).") var apply = false

        func run() async throws {
            let logger = try startCommand("billsync.topics")
            let catalog = TopicCatalog(partitions: partitions, prefix: prefix).specifications
            let brokers = environmentConnection.bootstrapServers.joined(separator: ",")
            let (before, after) = try await withKafkaClients {
                let admin = try KafkaAdmin(connection: environmentConnection, logger: logger)
                let before = try await Self.drift(catalog, admin: admin)
                guard apply, !before.isEmpty else { return (before, before) }
                try await admin.createTopics(before.missing)
                try await admin.createPartitions(before.partitionIncreases)
                try await admin.setConfigs(before.configChanges)
                return (before, try await Self.drift(catalog, admin: admin))
            }
            guard !before.isEmpty else {
                print("\(catalog.count) topics on \(brokers) as the catalog says")
                return
            }
            print(before.report)
            guard apply else {
                throw OperatorError.drift("\(before.missing.count) missing, \(before.differences.count) different; add --apply to fix")
            }
            guard after.isEmpty else {
                print("after --apply:\n\(after.report)")
                throw OperatorError.drift("\(after.missing.count) missing, \(after.differences.count) different after --apply")
            }
            print("fixed: \(before.missing.count) created, \(before.differences.count) changed; \(catalog.count) topics on \(brokers) as the catalog says")
        }

        static func drift(_ catalog: [KafkaTopicSpecification], admin: KafkaAdmin) async throws -> TopicDrift {
            let existing = try await admin.listTopics()
            let names = Set(existing.map(\.name))
            let configs = try await admin.describeConfigs(ofTopics: catalog.map(\.name).filter(names.contains))
            return TopicDrift(catalog: catalog, existing: existing, configs: configs)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List topics and their partition counts.")
        func run() async throws {
            let logger = try startCommand("billsync.topics")
            let topics = try await withKafkaClients {
                try await KafkaAdmin(connection: environmentConnection, logger: logger).listTopics()
            }
            for topic in topics { print("\(topic.name)\t\(topic.partitions.count)") }
        }
    }
}
