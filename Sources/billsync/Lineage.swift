import ArgumentParser
import BillsyncKafka
import BillsyncOperations
import BillsyncTopics
import Foundation

/// One record's way through the fleet, for the question "where is customer 1000042?".
struct Lineage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow one record across the fleet's topics by its business key: extracted, transformed, loaded, or where it is stuck.",
        discussion: "Exit 0: found and nothing waiting. Exit 5: something is stuck (a retry not yet read again, a dead letter, a parked message). Exit 66: no such record."
    )

    @Argument(help: "The business key, e.g. the billing account id.") var key: String
    @Option(help: "Prefix of the fleet's topics (BILLSYNC_TOPIC_PREFIX).")
    var prefix = ProcessInfo.processInfo.environment["BILLSYNC_TOPIC_PREFIX"] ?? "billsync"

    func run() async throws {
        let logger = try startCommand("billsync.lineage")
        let lineage = try await withKafkaClients {
            try await BillsyncOperations.Lineage.trace(key: key, connection: environmentConnection, catalog: TopicCatalog(prefix: prefix),
                                                       groupID: "\(prefix)-cli-lineage", logger: logger)
        }
        print(lineage.text)
        if lineage.events.isEmpty { throw ExitCode(66) }
        if !lineage.stuck.isEmpty { throw ExitCode(5) }
    }
}
