import ArgumentParser
import BillsyncContracts
import BillsyncKafka
import BillsyncOperations
import BillsyncTopics
import Foundation

/// The fleet at a glance: per stage its workers, lag, retries, dead letters and throughput; the
/// last successful load per object; the API budget.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per stage: workers, lag in messages and time, retry and dead-letter depth, throughput; last loads; API budget.",
        discussion: "Read from the workers' heartbeats (billsync.workers), the dead-letter topics and the alerter's state."
    )

    @Option(help: "Prefix of the fleet's topics (BILLSYNC_TOPIC_PREFIX).")
    var prefix = ProcessInfo.processInfo.environment["BILLSYNC_TOPIC_PREFIX"] ?? "billsync"
    @Flag(help: "JSON instead of a table, for scripts.") var json = false
    @Flag(help: "Refresh until Ctrl-C.") var watch = false
    @Option(help: "With --watch: seconds between refreshes.") var every = 5.0

    func run() async throws {
        let logger = try startCommand("billsync.status")
        let contracts = try MessageContracts(directory: MessageContracts.defaultDirectory())
        let catalog = TopicCatalog(prefix: prefix)
        repeat {
            let status = try await withKafkaClients {
                try await FleetStatus.read(connection: environmentConnection, catalog: catalog, contracts: contracts,
                                           groupID: "\(prefix)-cli-status", logger: logger)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                encoder.dateEncodingStrategy = .iso8601
                print(String(decoding: try encoder.encode(status), as: UTF8.self))
            } else {
                if watch { print("\u{1B}[2J\u{1B}[H", terminator: "") }
                print(status.text)
            }
            fflush(nil)
            if watch { try await Task.sleep(for: .seconds(every)) }  // the refresh rate a person asked for
        } while watch
    }
}
