import ArgumentParser
import BillsyncContracts
import BillsyncExtractor
import BillsyncKafka
import Foundation
import Logging
import ServiceLifecycle

/// Publishes billing data from a CSV drop folder to the raw topics, on a schedule.
/// The broker comes from KAFKA_BROKERS; secrets never come from arguments.
@main
struct Extractor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billsync-extractor",
        abstract: "Publish billing exports dropped in a folder to billsync's raw topics."
    )

    @Option(help: "The drop folder (BILLSYNC_EXTRACTOR_CSV_DIR).") var csvDir: String?
    @Option(help: "The source's name, in every message and checkpoint.") var source = "csv-drop"
    @Option(help: "once, every 4h, every 30m, or continuous (BILLSYNC_EXTRACTOR_SCHEDULE).") var schedule: String?
    @Option(help: "Prefix of billsync's topics.") var topicPrefix = "billsync"

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let folder = csvDir ?? environment["BILLSYNC_EXTRACTOR_CSV_DIR"] else {
            throw ValidationError("give the drop folder with --csv-dir or BILLSYNC_EXTRACTOR_CSV_DIR")
        }
        let scheduleText = schedule ?? environment["BILLSYNC_EXTRACTOR_SCHEDULE"] ?? "once"
        guard let parsedSchedule = ExtractionSchedule(parsing: scheduleText) else {
            throw ValidationError("schedule '\(scheduleText)' is not once, every <n>h|m|s, or continuous")
        }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "billsync.extractor")
        logger.logLevel = environment["BILLSYNC_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        do {
            try Librdkafka.requireSupportedVersion()
        } catch {
            throw ValidationError(error.message)
        }
        try await serve(folder: folder, schedule: parsedSchedule, logger: logger)
        await KafkaClients.waitUntilClosed()
    }

    func serve(folder: String, schedule: ExtractionSchedule, logger: Logger) async throws {
        let connection = KafkaConnection.fromEnvironment(ProcessInfo.processInfo.environment, clientID: "billsync-extractor")
        let contracts = try MessageContracts(directory: MessageContracts.defaultDirectory())
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: connection), logger: logger)
        let checkpoints = try KafkaCheckpointStore(connection: connection, topic: "\(topicPrefix).checkpoints", logger: logger)
        let extraction = CSVDropExtraction(folder: CSVDropFolder(directory: URL(fileURLWithPath: folder, isDirectory: true)),
                                           sourceName: source, contracts: contracts, topicPrefix: topicPrefix)
        let service = ExtractorService(extraction: extraction, schedule: schedule, producer: producer, checkpoints: checkpoints,
                                       reportsTopic: "\(topicPrefix).reports", logger: logger)
        logger.info("extractor starting", metadata: ["billsync.folder": "\(folder)", "billsync.schedule": "\(schedule)"])
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: producer),
                .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
        await checkpoints.close()
    }
}
