import BillsyncContracts
import BillsyncKafka
import BillsyncTopics
import BillsyncOperations
import BillsyncSandbox
import Foundation
import Logging

/// The loader executable against the Salesforce emulator, on the Collections path and on the
/// Bulk API path: records per second (from its first record loaded to its last), Salesforce API
/// calls per 1,000 records, and the peak memory of the loader process. Records and calls are
/// the emulator's counts (what Salesforce would bill and hold), not the loader's own: a run
/// fails unless the org holds exactly the records sent, each created once.
public struct LoaderBenchmark: Sendable {
    public var connection: KafkaConnection
    public var loaderExecutable: String
    public var org: SalesforceOrg
    public var records = 20_000
    public var logger: Logger

    public init(connection: KafkaConnection, loaderExecutable: String, org: SalesforceOrg, logger: Logger) {
        self.connection = connection
        self.loaderExecutable = loaderExecutable
        self.org = org
        self.logger = logger
    }

    struct PathFigures {
        let recordsPerSecond: Double
        let callsPerThousand: Double
        let peakMegabytes: Double
        /// External ids the emulator saw created more than once (must be 0).
        let duplicateCreates: Int
    }

    public func run() async throws -> BenchmarkReport {
        let collections = try await measure(path: "collections", bulkThreshold: 1_000_000)
        let bulk = try await measure(path: "bulk", bulkThreshold: 5_000)
        return BenchmarkReport(
            benchmark: "loader", settings: ["records": String(records), "object": "Account", "partitions": "2"], comparisons: [],
            figures: [
                BenchmarkFigure(name: "Collections: records/s", value: collections.recordsPerSecond, unit: "records/s"),
                BenchmarkFigure(name: "Collections: API calls per 1,000 (counted by the emulator)", value: collections.callsPerThousand, unit: "calls",
                                target: 5, lowerIsBetter: true),
                BenchmarkFigure(name: "Collections: duplicate creates (emulator)", value: Double(collections.duplicateCreates), unit: "records"),
                BenchmarkFigure(name: "Collections: loader peak RSS", value: collections.peakMegabytes, unit: "MB"),
                BenchmarkFigure(name: "Bulk: records/s", value: bulk.recordsPerSecond, unit: "records/s"),
                BenchmarkFigure(name: "Bulk: API calls per 1,000 (counted by the emulator)", value: bulk.callsPerThousand, unit: "calls"),
                BenchmarkFigure(name: "Bulk: duplicate creates (emulator)", value: Double(bulk.duplicateCreates), unit: "records"),
                BenchmarkFigure(name: "Bulk: loader peak RSS", value: bulk.peakMegabytes, unit: "MB"),
            ])
    }

    func measure(path: String, bulkThreshold: Int) async throws -> PathFigures {
        let prefix = "bench-loader-\(path)-\(UUID().uuidString.prefix(6).lowercased())"
        let catalog = TopicCatalog(partitions: 2, prefix: prefix)
        let admin = try KafkaAdmin(connection: connection, logger: logger)
        try await admin.createTopics(catalog.specifications)
        try await seed(catalog.upsertCommands)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(prefix)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let configuration = SalesforceEmulatorConfiguration()
        let emulator = SalesforceEmulator(store: try SalesforceRecordStore(org: org, path: directory.appendingPathComponent("org.sqlite").path),
                                          configuration: configuration)
        var quiet = logger
        quiet.logLevel = .critical
        return try await SandboxServer(salesforce: emulator, port: 0).serving(logger: quiet) { base in
            try await runLoader(prefix: prefix, base: base, emulator: emulator, bulkThreshold: bulkThreshold)
        }
    }

    func seed(_ topic: String) async throws {
        let contracts = try MessageContracts(directory: MessageContracts.defaultDirectory())
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: connection), logger: logger)
        let source = MessageSource(system: .billsync, name: "bench")
        var messages: [KafkaProducerMessage] = []
        for index in 0..<records {
            let customer = String(format: "%010d", 10_000_000 + index)
            let upsert = CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: customer, fields: [
                "Name": .string("Customer \(index)"), "Amount_Due__c": .decimal(Decimal(index % 5_000) / 4),
                "Last_Bill_Date__c": .string("2026-11-14"), "BillingCity": .string("Melbourne"),
            ])
            let envelope = MessageEnvelope(source: source, businessKey: customer, occurredAt: nil, payload: upsert)
            messages.append(KafkaProducerMessage(topic: topic, key: Array(customer.utf8), value: try contracts.encode(envelope)))
        }
        _ = try await producer.sendAll(messages)
        await producer.shutdown()
    }

    func runLoader(prefix: String, base: URL, emulator: SalesforceEmulator, bulkThreshold: Int) async throws -> PathFigures {
        let loader = try BenchmarkWorker(executable: loaderExecutable, connection: connection, topicPrefix: prefix, environment: [
            "BILLSYNC_LOADER_BULK_THRESHOLD": String(bulkThreshold), "SALESFORCE_LOGIN_URL": emulator.myDomainLoginURL(on: base).absoluteString,
            "SALESFORCE_CLIENT_ID": "billsync-sandbox", "SALESFORCE_CLIENT_SECRET": "sandbox-secret",
        ])
        var first: (count: Int, at: ContinuousClock.Instant)?
        var last = (count: 0, at: ContinuousClock.now)
        let deadline = ContinuousClock.now.advanced(by: .seconds(900))
        while ContinuousClock.now < deadline, loader.isRunning {
            try await Task.sleep(for: .milliseconds(100))
            guard let metrics = await loader.metrics() else { continue }
            let loaded = Int(metrics["billsync_loader_records_total"] ?? 0)
            if loaded > 0, first == nil { first = (loaded, .now) }
            if loaded > last.count { last = (loaded, .now) }
            if loaded >= records { break }
        }
        let peak = loader.peakResidentMegabytes
        loader.stop()
        guard let first, last.count >= records else {
            throw BenchmarkFailure(description: "the loader loaded \(last.count) of \(records) records")
        }
        // What the org holds and what it counted, read on the emulator's side.
        let held = try emulator.recordCount(object: "Account")
        let creates = try emulator.creates(object: "Account")
        guard held == records, creates.creates == records else {
            throw BenchmarkFailure(description: "the org holds \(held) Account records from \(creates.creates) creates; \(records) were sent")
        }
        let calls = emulator.calls.total
        let seconds = Double((last.at - first.at).components.attoseconds) / 1e18 + Double((last.at - first.at).components.seconds)
        return PathFigures(recordsPerSecond: seconds > 0 ? Double(last.count - first.count) / seconds : 0,
                           callsPerThousand: Double(calls) * 1_000 / Double(records), peakMegabytes: peak,
                           duplicateCreates: creates.creates - creates.externalIds)
    }

}
