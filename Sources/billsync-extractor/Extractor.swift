import ArgumentParser
import BillsyncMapping
import BillsyncContracts
import BillsyncHTTP
import BillsyncExtractor
import BillsyncKafka
import BillsyncPostgres
import BillsyncRuntime
import BillsyncTopics
import Foundation
import Logging
import ServiceLifecycle

/// Publishes billing data to the raw topics, on a schedule, from any of three sources in one
/// process: a CSV drop folder, the billing engine's REST API, an incremental SQL query. It runs
/// on the same worker shape as the stages (`/healthz`, `/readyz`, `/metrics`, JSON logs,
/// graceful shutdown); its schedule drives it instead of a topic.
/// The broker comes from KAFKA_BROKERS; secrets (the API token, the database URL) only from the
/// environment or files, never from arguments.
@main
struct Extractor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billsync-extractor",
        abstract: "Publish billing data (CSV drops, the billing API, a SQL query) to billsync's raw topics."
    )

    @Option(help: "A YAML configuration file (BILLSYNC_CONFIG): brokers, HTTP port, logging, as for every worker.") var config: String?
    @Option(help: "A CSV drop folder (BILLSYNC_EXTRACTOR_CSV_DIR).") var csvDir: String?
    @Option(help: "The source mapping file: which files the drop folder reads and how (BILLSYNC_EXTRACTOR_SOURCES; default Deploy/extractor/sources.yaml).")
    var sources: String?
    @Option(help: "Seconds a dropped file must be unchanged before it is read (BILLSYNC_EXTRACTOR_SETTLE_SECONDS).") var settleSeconds: Double?
    @Option(help: "The billing engine's base URL (BILLSYNC_EXTRACTOR_API_URL); its token is BILLSYNC_EXTRACTOR_API_TOKEN or BILLSYNC_EXTRACTOR_API_TOKEN_FILE.")
    var billingApiUrl: String?
    @Option(help: "Billing API entities, comma separated (BILLSYNC_EXTRACTOR_API_ENTITIES).") var billingApiEntities: String?
    @Option(help: "An incremental SQL query (BILLSYNC_EXTRACTOR_SQL_QUERY); the database is BILLSYNC_EXTRACTOR_SQL_URL or BILLSYNC_EXTRACTOR_SQL_URL_FILE.")
    var sqlQuery: String?
    @Option(help: "The query's watermark column.") var sqlWatermark = "updated_at"
    @Option(help: "The query's tie-breaker column (unique with the watermark).") var sqlTieBreaker = "id"
    @Option(help: "The raw entity the query's rows are.") var sqlEntity = "meter-reading"
    @Option(help: "The source name prefix, in every message and checkpoint.") var source = "billing"
    @Option(help: "once, every 4h, every 30m, or continuous (BILLSYNC_EXTRACTOR_SCHEDULE).") var schedule: String?
    @Option(help: "Backfill: re-read API and SQL changes from this instant (RFC 3339), leaving checkpoints alone.") var backfillFrom: String?
    @Option(help: "Backfill: up to this instant (exclusive).") var backfillUntil: String?
    @Option(help: "Prefix of billsync's topics (BILLSYNC_TOPIC_PREFIX).")
    var topicPrefix = ProcessInfo.processInfo.environment["BILLSYNC_TOPIC_PREFIX"] ?? "billsync"

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let scheduleText = schedule ?? environment["BILLSYNC_EXTRACTOR_SCHEDULE"] ?? "once"
        guard let parsedSchedule = ExtractionSchedule(parsing: scheduleText) else {
            throw ValidationError("schedule '\(scheduleText)' is not once, every <n>h|m|s, or continuous")
        }
        var backfill: BackfillWindow?
        switch (backfillFrom, backfillUntil) {
        case let (from?, until?):
            guard Timestamp(parsing: from) != nil, Timestamp(parsing: until) != nil, from < until else {
                throw ValidationError("--backfill-from and --backfill-until must be RFC 3339 instants, from before until")
            }
            backfill = BackfillWindow(from: from, until: until)
        case (nil, nil): backfill = nil
        default: throw ValidationError("a backfill needs both --backfill-from and --backfill-until")
        }
        let configured = [csvDir, billingApiUrl, sqlQuery] + ["CSV_DIR", "API_URL", "SQL_QUERY", "SQL_URL", "SQL_URL_FILE"].map { environment["BILLSYNC_EXTRACTOR_\($0)"] }
        guard configured.contains(where: { $0 != nil }) else {
            throw ValidationError("configure at least one source: --csv-dir, --billing-api-url or --sql-query (or their BILLSYNC_EXTRACTOR_* variables)")
        }
        let catalog = TopicCatalog(prefix: topicPrefix)
        // The same worker shape as every stage: configuration, JSON logs, metrics and the
        // operations endpoints; what drives it is its schedule, not a topic.
        var configuration = WorkerConfiguration(stage: .extractor, catalog: catalog, inputTopics: [])
        do {
            try configuration.load(file: config ?? environment["BILLSYNC_CONFIG"], environment: environment)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        WorkerLogging.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        let logger = Logger(label: "billsync.extractor")
        let runSchedule = backfill == nil ? parsedSchedule : .once
        try await StageWorker.run(configuration: configuration, logger: logger) { context in
            let (sources, database) = try makeSources(environment: environment, contracts: context.contracts, http: context.http,
                                                      backfill: backfill, schedule: runSchedule, logger: logger)
            let checkpoints = try KafkaCheckpointStore(connection: configuration.connection, topic: catalog.checkpoints, logger: logger)
            let service = ExtractorService(sources: sources, schedule: runSchedule, producer: context.producer, checkpoints: checkpoints,
                                           reportsTopic: catalog.reports, contracts: context.contracts, logger: logger)
            logger.info("extractor starting", metadata: [
                "billsync.sources": "\(sources.map { "\($0.kind):\($0.sourceName)" })", "billsync.schedule": "\(runSchedule)",
            ])
            // The SQL sources' pool runs in the worker's service group and closes after the run in progress.
            return WorkerDriver(service: service, isReady: { true }, stopped: { await checkpoints.close() },
                                services: database.map { [$0] } ?? [])
        }
    }

    static func secret(_ name: String, _ environment: [String: String]) throws -> String? {
        do {
            return try Secrets.read(name, from: environment)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The source mapping file: `--sources`, BILLSYNC_EXTRACTOR_SOURCES, the repository's or the image's copy.
    func loadMappings(environment: [String: String]) throws -> SourceMappingDocument {
        let path = self.sources ?? environment["BILLSYNC_EXTRACTOR_SOURCES"]
            ?? ["Deploy/extractor/sources.yaml", "/usr/local/share/billsync/extractor/sources.yaml"]
            .first { FileManager.default.fileExists(atPath: $0) } ?? "Deploy/extractor/sources.yaml"
        do {
            return try SourceMappingDocument(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ValidationError("\(path): \(error)")
        }
    }

    /// The configured sources, and the pool the SQL sources share (nil without them).
    func makeSources(environment: [String: String], contracts: MessageContracts, http: HTTPTransport, backfill: BackfillWindow?,
                     schedule: ExtractionSchedule, logger: Logger) throws -> ([any ExtractionSource], PostgresPool?) {
        var sources: [any ExtractionSource] = []
        let mappings = try loadMappings(environment: environment)
        if let folder = csvDir ?? environment["BILLSYNC_EXTRACTOR_CSV_DIR"] {
            let settle = settleSeconds ?? environment["BILLSYNC_EXTRACTOR_SETTLE_SECONDS"].flatMap(Double.init) ?? 2
            var extraction = CSVDropExtraction(folder: CSVDropFolder(directory: URL(fileURLWithPath: folder, isDirectory: true), settle: settle),
                                               mappings: mappings, sourceName: "\(source)-csv", contracts: contracts, topicPrefix: topicPrefix)
            extraction.waitsForFilesInProgress = schedule == .once
            sources.append(extraction)
        }
        if let text = billingApiUrl ?? environment["BILLSYNC_EXTRACTOR_API_URL"] {
            guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https" else {
                throw ValidationError("the billing API URL '\(text)' is not an http(s) URL")
            }
            guard let token = try Self.secret("BILLSYNC_EXTRACTOR_API_TOKEN", environment) else {
                throw ValidationError("the billing API needs BILLSYNC_EXTRACTOR_API_TOKEN or BILLSYNC_EXTRACTOR_API_TOKEN_FILE")
            }
            var entities = (billingApiEntities ?? environment["BILLSYNC_EXTRACTOR_API_ENTITIES"] ?? "accounts,contacts,premises,bills,meter-readings")
                .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            // A resource the source mapping declares is read, listed or not.
            for declared in mappings.sources.compactMap(\.api) where !entities.contains(declared) { entities.append(declared) }
            do {
                var api = BillingAPISource(baseURL: url, token: token)
                api.http = http
                var extraction = try BillingAPIExtraction(api: api, entities: entities,
                                                          sourceName: "\(source)-api", contracts: contracts, topicPrefix: topicPrefix,
                                                          sources: mappings)
                extraction.backfill = backfill
                sources.append(extraction)
            } catch let error as BillingAPIError {
                throw ValidationError(error.message)
            }
        }
        if billingApiUrl ?? environment["BILLSYNC_EXTRACTOR_API_URL"] == nil, !mappings.sources.filter({ $0.api != nil }).isEmpty {
            logger.warning("the source mapping declares billing API resources, but no billing API is configured (--billing-api-url); they are not read",
                           metadata: ["billsync.sources": "\(mappings.sources.filter { $0.api != nil }.map(\.name))"])
        }
        // SQL queries: the one given by option, read by a built-in shape, and every source of the
        // mapping file with `sql:`, read by its own columns and rules.
        let declared = mappings.sources.filter { $0.sql != nil }
        if sqlQuery ?? environment["BILLSYNC_EXTRACTOR_SQL_QUERY"] != nil || !declared.isEmpty {
            guard let url = try Self.secret("BILLSYNC_EXTRACTOR_SQL_URL", environment) else {
                if declared.isEmpty || sqlQuery ?? environment["BILLSYNC_EXTRACTOR_SQL_QUERY"] != nil {
                    throw ValidationError("the SQL source needs BILLSYNC_EXTRACTOR_SQL_URL or BILLSYNC_EXTRACTOR_SQL_URL_FILE")
                }
                logger.warning("the source mapping declares SQL queries, but no database is configured (BILLSYNC_EXTRACTOR_SQL_URL); they are not read",
                               metadata: ["billsync.sources": "\(declared.map(\.name))"])
                return (sources, nil)
            }
            var settings: PostgresSettings
            do {
                settings = try PostgresSettings(connectionString: url, environment: environment)
            } catch {
                throw ValidationError("BILLSYNC_EXTRACTOR_SQL_URL: \(error)")
            }
            if let text = environment["BILLSYNC_EXTRACTOR_SQL_CONNECTIONS"] {
                guard let connections = Int(text), (1...100).contains(connections) else {
                    throw ValidationError("BILLSYNC_EXTRACTOR_SQL_CONNECTIONS '\(text)' is not a number of connections from 1 to 100")
                }
                settings.maximumConnections = connections
            }
            let database = try PostgresPool(settings: settings, logger: logger)
            if let query = sqlQuery ?? environment["BILLSYNC_EXTRACTOR_SQL_QUERY"] {
                guard let shape = RawRecordShape.billingAPI.values.first(where: { $0.entity == sqlEntity }) else {
                    throw ValidationError("--sql-entity \(sqlEntity) is not a raw entity")
                }
                var extraction = SQLExtraction(query: SQLWatermarkSource(query: query, watermarkColumn: sqlWatermark, tieBreakerColumn: sqlTieBreaker),
                                               mapping: shape, database: database, sourceName: "\(source)-sql", contracts: contracts, topicPrefix: topicPrefix)
                extraction.backfill = backfill
                sources.append(extraction)
            }
            for declaration in declared {
                guard let sql = declaration.sql else { continue }
                var extraction = SQLExtraction(query: SQLWatermarkSource(query: sql.query, watermarkColumn: sql.watermark, tieBreakerColumn: sql.tieBreaker),
                                               mapping: SourceRecordMapping(source: declaration), database: database,
                                               sourceName: "\(source)-\(declaration.name)", contracts: contracts, topicPrefix: topicPrefix)
                extraction.backfill = backfill
                sources.append(extraction)
            }
            return (sources, database)
        }
        return (sources, nil)
    }
}
