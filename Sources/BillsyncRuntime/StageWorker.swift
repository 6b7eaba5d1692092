import BillsyncContracts
import BillsyncHTTP
import BillsyncKafka
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// What every worker process has, whatever drives it: the contracts, a producer, the one HTTP
/// client, the metrics registry behind `/metrics`, its configuration and logger. A driver is
/// built from it.
public struct WorkerContext: Sendable {
    public let configuration: WorkerConfiguration
    public let contracts: MessageContracts
    public let producer: KafkaProducer
    /// Every HTTP call of the worker (Salesforce, the billing engine, alert channels) goes
    /// through it; the service group shuts it down after the driver stopped.
    public let http: HTTPTransport
    public let logger: Logger
}

/// What makes a worker work: a topic-driven stage (consume → handle → produce) or a
/// source-driven service (the extractor's schedule), and when it counts as ready.
public struct WorkerDriver: Sendable {
    public let service: any Service
    /// `/readyz`: true once the driver can do its work (a stage: once it joined its group).
    public let isReady: @Sendable () async -> Bool
    /// Runs once the service group has stopped, before the process waits for its Kafka clients
    /// to close: where a driver releases what it holds beside the worker's producer.
    public let stopped: @Sendable () async -> Void
    /// What the driver needs running while it runs (a database pool): started in the worker's
    /// service group with it, shut down after it (the driver drains first), and a failure of
    /// one stops the worker.
    public let services: [any Service]

    public init(service: any Service, isReady: @escaping @Sendable () async -> Bool, stopped: @escaping @Sendable () async -> Void = {},
                services: [any Service] = []) {
        self.service = service
        self.isReady = isReady
        self.stopped = stopped
        self.services = services
    }
}

/// Assembles a worker process: checks librdkafka, compiles the contracts, connects the producer,
/// bootstraps metrics, serves `/healthz`, `/readyz` and `/metrics`, and runs it all with its
/// driver in a service group that shuts down gracefully on SIGTERM or SIGINT within
/// `shutdownTimeout`: the endpoints first, then the driver (a stage drains, commits and leaves
/// its group; a source finishes the run in progress), then the producer (flushes).
///
/// Every continuously running executable is built this way; it adds only its handler (a stage)
/// or its driver (a source), after bootstrapping logging.
public enum StageWorker {
    public static let version = "0.1.0"

    /// A topic-driven stage around `makeHandler`'s handler. The handler may write through the
    /// context's producer outside its outputs (an alert that cannot wait for its batch): that
    /// producer is flushed and closed after the stage stopped.
    public static func run<Handler: StageHandler>(
        configuration: WorkerConfiguration,
        logger: Logger,
        makeHandler: (WorkerContext) async throws -> Handler
    ) async throws {
        try await run(configuration: configuration, logger: logger) { context in
            let runtime = try makeRuntime(handler: try await makeHandler(context), context: context)
            return WorkerDriver(service: runtime, isReady: { runtime.hasJoinedGroup })
        }
    }

    /// A stage that keeps compacted tables (`CompactedTable`): they are read to their ends before
    /// the stage takes its first message, and followed while it runs.
    public static func run<Handler: StageHandler>(
        configuration: WorkerConfiguration,
        logger: Logger,
        makeStage: (WorkerContext) async throws -> (handler: Handler, tables: [CompactedTable])
    ) async throws {
        try await run(configuration: configuration, logger: logger) { context in
            let (handler, tables) = try await makeStage(context)
            let runtime = try makeRuntime(handler: handler, context: context)
            let service = StageWithTables(runtime: runtime, tables: tables, connection: context.configuration.connection,
                                          groupID: "\(context.configuration.runtime.group)-tables", logger: context.logger)
            return WorkerDriver(service: service, isReady: { runtime.hasJoinedGroup })
        }
    }

    /// What a stage's consumer prefetches at most (the configuration's Kafka properties win).
    /// librdkafka's defaults (64 MB queued, 50 MB per fetch) would let a stage that reads a
    /// backlog hold far more than it works on, and a worker's memory target is 64 MB. The caps
    /// count compressed bytes, and each lz4 batch is held decompressed (four to eight times
    /// larger) until its last message is read, so they are small: 1 MiB per fetch (no less than
    /// a message may be), 64 KiB per partition, 256 KiB queued. A quarter of what they were
    /// (256 KiB and 1 MiB) took 8 MB off the raw pipe's peak and 5 MB off the transformer's,
    /// at the same speed. With a small queue librdkafka's default pause before fetching again
    /// once it is full (1 s) starves the stage: 10 ms keeps it fed (the raw pipe took 60,000
    /// messages in a third less time).
    public static let consumerDefaults = [
        "queued.max.messages.kbytes": "256", "fetch.max.bytes": "1048576", "max.partition.fetch.bytes": "65536",
        "fetch.queue.backoff.ms": "10",
    ]

    /// The stage runtime of a worker around `handler`, with its own consumer in the stage's
    /// group: for a driver that runs a stage beside other work (the alerter).
    public static func makeRuntime<Handler: StageHandler>(
        handler: Handler, context: WorkerContext, clock: WallClock = .system
    ) throws -> StageRuntime<Handler> {
        let configuration = context.configuration
        let runtimeConfiguration = configuration.runtime
        var consumerConfiguration = KafkaConsumerConfiguration(
            connection: configuration.connection, groupID: runtimeConfiguration.group,
            subscription: .topics(runtimeConfiguration.inputTopics + runtimeConfiguration.retryTopics)
        )
        consumerConfiguration.properties = consumerDefaults.merging(configuration.kafkaProperties) { _, configured in configured }
        consumerConfiguration.bufferedMessages = 2 * runtimeConfiguration.maximumInFlight
        consumerConfiguration.drainTimeout = configuration.shutdownTimeout / 2
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: context.logger)
        return StageRuntime(configuration: runtimeConfiguration, handler: handler, contracts: context.contracts,
                            consumer: consumer, producer: context.producer,
                            metrics: StageMetrics(stage: runtimeConfiguration.stage), clock: clock, logger: context.logger)
    }

    /// A worker around any driver, e.g. a source-driven one.
    public static func run(
        configuration: WorkerConfiguration,
        logger: Logger,
        makeDriver: (WorkerContext) async throws -> WorkerDriver
    ) async throws {
        let outcome: Result<Void, any Error>
        do {
            try await serve(configuration: configuration, logger: logger, makeDriver: makeDriver)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        // The clients are released now; exiting while librdkafka still stops them can crash.
        await KafkaClients.waitUntilClosed()
        logger.info("worker stopped")
        try outcome.get()
    }

    private static func serve(
        configuration: WorkerConfiguration,
        logger: Logger,
        makeDriver: (WorkerContext) async throws -> WorkerDriver
    ) async throws {
        try Librdkafka.requireSupportedVersion()
        limitMallocArenas()
        let directory = configuration.schemasDirectory.map { URL(fileURLWithPath: $0, isDirectory: true) }
            ?? MessageContracts.defaultDirectory()
        let contracts = try MessageContracts(directory: directory)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        StageMetrics.recordBuildInfo(version: version, librdkafka: Librdkafka.version)

        var producerConfiguration = KafkaProducerConfiguration(connection: configuration.connection)
        producerConfiguration.properties = configuration.kafkaProperties
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        let http = HTTPTransport(configuration: configuration.http)
        let driver: WorkerDriver
        do {
            driver = try await makeDriver(WorkerContext(configuration: configuration, contracts: contracts, producer: producer, http: http,
                                                        logger: logger))
        } catch {
            try? await http.shutdown()
            throw error
        }
        let server = OperationsServer(host: configuration.httpHost, port: configuration.httpPort, registry: registry,
                                      isReady: driver.isReady, logger: logger)
        let runtimeConfiguration = configuration.runtime
        logger.info("worker starting", metadata: [
            RuntimeLogKeys.stage: "\(runtimeConfiguration.stage)", "billsync.group": "\(runtimeConfiguration.group)",
            "billsync.http": "\(configuration.httpHost):\(configuration.httpPort)", "librdkafka": "\(Librdkafka.version)",
        ])
        // Shut down in reverse: the endpoints, then the driver, then the services it uses (the
        // SQL sources' or the sink's pool), the HTTP client (the driver's last calls are done)
        // and the producer (flush what the driver wrote).
        var groupConfiguration = ServiceGroupConfiguration(
            services: [.init(service: producer), .init(service: http)] + driver.services.map { .init(service: $0) } + [
                .init(service: driver.service, successTerminationBehavior: .gracefullyShutdownGroup,
                      failureTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: server),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            await driver.stopped()
            throw error
        }
        await driver.stopped()
    }
}

extension StageWorker {
    /// glibc gives threads that allocate at once arenas of their own, up to eight per core, and
    /// keeps what each arena once held: a worker's threads (librdkafka's, NIO's, the cooperative
    /// pool's) would each keep one. Two are plenty for a worker's allocation rate and keep its
    /// resident memory near what it uses. `MALLOC_ARENA_MAX` in the environment wins.
    static func limitMallocArenas() {
        #if os(Linux)
        if ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil { _ = glibcMallopt(glibcArenaMaximum, 2) }
        #endif
    }
}

#if os(Linux)
/// glibc's `mallopt` (`<malloc.h>`, which the Glibc module does not import) and its
/// `M_ARENA_MAX` parameter.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
private let glibcArenaMaximum: Int32 = -8
#endif
