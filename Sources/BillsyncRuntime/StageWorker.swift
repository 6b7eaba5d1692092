import BillsyncContracts
import BillsyncKafka
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// Assembles a worker process around a handler: checks librdkafka, compiles the contracts,
/// connects the consumer and producer, serves the operations endpoints, and runs it all in a
/// service group that shuts down gracefully on SIGTERM or SIGINT within `shutdownTimeout`.
///
/// Executables call this after bootstrapping logging; all they add is their handler.
public enum StageWorker {
    public static let version = "0.1.0"

    public static func run<Handler: StageHandler>(
        configuration: WorkerConfiguration,
        logger: Logger,
        makeHandler: (MessageContracts) throws -> Handler
    ) async throws {
        let outcome: Result<Void, any Error>
        do {
            try await serve(configuration: configuration, logger: logger, makeHandler: makeHandler)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        // The clients are released now; exiting while librdkafka still stops them can crash.
        await KafkaClients.waitUntilClosed()
        logger.info("worker stopped")
        try outcome.get()
    }

    private static func serve<Handler: StageHandler>(
        configuration: WorkerConfiguration,
        logger: Logger,
        makeHandler: (MessageContracts) throws -> Handler
    ) async throws {
        try Librdkafka.requireSupportedVersion()
        let directory = configuration.schemasDirectory.map { URL(fileURLWithPath: $0, isDirectory: true) }
            ?? MessageContracts.defaultDirectory()
        let contracts = try MessageContracts(directory: directory)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        StageMetrics.recordBuildInfo(version: version, librdkafka: Librdkafka.version)

        let handler = try makeHandler(contracts)
        var producerConfiguration = KafkaProducerConfiguration(connection: configuration.connection)
        producerConfiguration.properties = configuration.kafkaProperties
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        let runtimeConfiguration = configuration.runtime
        var consumerConfiguration = KafkaConsumerConfiguration(
            connection: configuration.connection, groupID: runtimeConfiguration.group,
            subscription: .topics(runtimeConfiguration.inputTopics + runtimeConfiguration.retryTopics)
        )
        consumerConfiguration.properties = configuration.kafkaProperties
        consumerConfiguration.drainTimeout = configuration.shutdownTimeout / 2
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        let runtime = StageRuntime(configuration: runtimeConfiguration, handler: handler, contracts: contracts,
                                   consumer: consumer, producer: producer,
                                   metrics: StageMetrics(stage: runtimeConfiguration.stage), logger: logger)
        let server = OperationsServer(host: configuration.httpHost, port: configuration.httpPort, registry: registry,
                                      isReady: { runtime.hasJoinedGroup }, logger: logger)
        logger.info("worker starting", metadata: [
            RuntimeLogKeys.stage: "\(runtimeConfiguration.stage)", "billsync.group": "\(runtimeConfiguration.group)",
            "billsync.http": "\(configuration.httpHost):\(configuration.httpPort)", "librdkafka": "\(Librdkafka.version)",
        ])
        // Shut down in reverse: the endpoints, then the stage (drain, commit, leave), then the
        // producer (flush what the stage wrote).
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: producer),
                .init(service: runtime, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: server),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        try await ServiceGroup(configuration: groupConfiguration).run()
    }
}
