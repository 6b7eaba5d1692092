import ArgumentParser
import BillsyncExtractor
import BillsyncKafka
import BillsyncOperations
import BillsyncMapping
import BillsyncTopics
import BillsyncTransformer
import Foundation
import Logging

@main
struct Billsync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billsync",
        abstract: "Operator commands for a billsync fleet. The broker comes from KAFKA_BROKERS (default 127.0.0.1:19092).",
        subcommands: [Topics.self, Status.self, DeadLetters.self, Replay.self, Lineage.self, Check.self, Mapping.self, Report.self, Silences.self]
    )

    /// Parses and runs the command; an `OperatorError` ends it with its own message and exit code.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch let error as OperatorError {
            FileHandle.standardError.write(Data("billsync: \(error)\n".utf8))
            Foundation.exit(error.exitCode.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}

/// Bootstraps logging and refuses a librdkafka that cannot talk to current brokers.
func startCommand(_ label: String) throws -> Logger {
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["BILLSYNC_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
    do {
        try Librdkafka.requireSupportedVersion()
    } catch {
        throw ValidationError(error.message)
    }
    return logger
}

/// Runs a command's Kafka work, then waits until its clients have closed, so the process does
/// not exit while librdkafka's threads are still stopping. A broker that cannot be reached is
/// said as such (exit 69), not as the first request that timed out.
func withKafkaClients<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
    do {
        let result = try await body()
        await KafkaClients.waitUntilClosed()
        return result
    } catch let error as KafkaError where OperatorError.isUnreachable(error) {
        throw OperatorError.unreachable(environmentConnection.bootstrapServers, error)
    }
}

var environmentConnection: KafkaConnection {
    KafkaConnection.fromEnvironment(ProcessInfo.processInfo.environment, clientID: "billsync-cli")
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove a round trip through the broker: produce, consume as a group member, compare."
    )
    @Option(help: "Messages to send (every tenth is a tombstone).") var messages = 1_000

    func run() async throws {
        let logger = try startCommand("billsync.check")
        print("librdkafka \(Librdkafka.version) loaded from \(Librdkafka.loadedPath ?? "?")")
        let check = RoundTripCheck(connection: environmentConnection, topic: TopicCatalog().selfCheck, messages: messages, logger: logger)
        let result = try await withKafkaClients { try await check.run() }
        print("round trip: sent \(result.sent), received \(result.received), mismatched \(result.mismatched.count), \(result.seconds) s")
        guard result.succeeded else { throw ExitCode.failure }
    }
}

struct Mapping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the mapping files (the sources' and the transformer's), or write the data mapping document from them.",
        subcommands: [Check.self, Docs.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the mapping files; a mistake is reported with its file and line.")
        @Option(help: "The transformer's mapping file.") var file = "Deploy/transformer/mapping.yaml"
        @Option(help: "The extractor's source mapping file.") var sources = "Deploy/extractor/sources.yaml"

        func run() async throws {
            let document = try load(file)
            print("\(file): \(document.objects.count) mappings, \(document.objects.map(\.fields.count).reduce(0, +)) fields, \(document.lookups.count) lookups")
            let sourceDocument = try loadSources(sources)
            let records = sourceDocument.sources.flatMap(\.records)
            print("\(sources): \(sourceDocument.sources.count) sources, \(records.count) record types, \(records.map(\.fields.count).reduce(0, +)) fields")
        }
    }

    struct Docs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the data mapping document (Markdown): source column → canonical field → CRM field, with the rules on each hop.")
        @Option(help: "The transformer's mapping file.") var file = "Deploy/transformer/mapping.yaml"
        @Option(help: "The extractor's source mapping file.") var sources = "Deploy/extractor/sources.yaml"

        func run() async throws {
            let document = try load(file)
            let sourceDocument = try loadSources(sources)
            print("# billsync data mapping\n\nFrom \(sources) (extractor) and \(file) (transformer).\n")
            print(SourceMappingDocumentation.markdown(sourceDocument) { type, path in
                document.objects.filter { $0.source == type }.flatMap { object -> [String] in
                    var targets = object.fields.filter { $0.from == path }.map { field in
                        let target = field.to.map { "`\(object.object).\($0)`" } ?? "checked for `\(object.object)`"
                        return field.rules.isEmpty ? target : "\(target) (\(field.rules.map(\.explanation).joined(separator: "; ")))"
                    }
                    if object.externalIdFrom.contains(path) { targets.append("`\(object.object).\(object.externalIdField)` (external id)") }
                    return targets
                }
            })
            print(MappingDocumentation.markdown(document, title: "Transformer: canonical billing records → CRM", level: 2))
        }
    }

    static func load(_ file: String) throws -> MappingDocument {
        do {
            return try MappingDocument(yaml: String(contentsOfFile: file, encoding: .utf8))
        } catch let error as MappingError {
            throw ValidationError("\(file) \(error)")
        }
    }

    static func loadSources(_ file: String) throws -> SourceMappingDocument {
        do {
            return try SourceMappingDocument(yaml: String(contentsOfFile: file, encoding: .utf8))
        } catch let error as MappingError {
            throw ValidationError("\(file) \(error)")
        }
    }
}
