import BillsyncContracts
import BillsyncSalesforce
import BillsyncKafka
import BillsyncLoader
import BillsyncRuntime
import BillsyncSandbox
import BillsyncTestSupport
import BillsyncTopics
import Foundation
import Logging
import Testing

/// A Salesforce emulator on a kernel-chosen port and the loader's topics on the broker; runs the
/// loader stage over a set of upsert commands until every one has an outcome.
struct LoaderRig: Sendable {
    let base: URL
    let emulator: SalesforceEmulator
    let store: SalesforceRecordStore
    let topics: Topics

    struct Topics: Sendable {
        let upserts, results, retry1, retry2, dlq, alerts: String
    }

    static let org: SalesforceOrg = {
        do { return try SalesforceOrg(contentsOf: TestRepository.root.appendingPathComponent("Deploy/sandbox/salesforce-org.yaml").path) } catch {
            fatalError("the sandbox org does not load: \(error)")
        }
    }()

    /// With `catalog`, the loader's topics are the catalog's (created with every other topic of
    /// the fleet), for the operator tool's readers; without, names of their own.
    static func with<T: Sendable>(catalog: TopicCatalog? = nil, _ configure: (inout SalesforceEmulatorConfiguration) -> Void = { _ in },
                                  _ body: @Sendable (LoaderRig) async throws -> T) async throws -> T {
        var configuration = SalesforceEmulatorConfiguration()
        configure(&configuration)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("loader-sf-\(UUID().uuidString).sqlite").path
        let store = try SalesforceRecordStore(org: org, path: path)
        let emulator = SalesforceEmulator(store: store, configuration: configuration)
        let topics: Topics
        if let catalog {
            try await KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger).createTopics(catalog.specifications)
            let retries = catalog.retryTopics(stage: .loader)
            topics = Topics(upserts: catalog.upsertCommands, results: catalog.loadResults, retry1: retries[0], retry2: retries[1],
                            dlq: catalog.deadLetterTopic(stage: .loader), alerts: catalog.alerts)
        } else {
            let names = try await TestKafka.createTopics("ld", count: 6, partitions: 2)
            topics = Topics(upserts: names[0], results: names[1], retry1: names[2], retry2: names[3], dlq: names[4], alerts: names[5])
        }
        var logger = Logger(label: "loader.test")
        logger.logLevel = .critical
        return try await SandboxServer(salesforce: emulator, port: 0).serving(logger: logger) { base in
            try await body(LoaderRig(base: base, emulator: emulator, store: store, topics: topics))
        }
    }

    func client(share: Double = 0.8) throws -> SalesforceClient {
        let session = try SalesforceSession(loginURL: emulator.myDomainLoginURL(on: base), credentials: .clientCredentials(clientID: "billsync-sandbox", clientSecret: "sandbox-secret"))
        return SalesforceClient(session: session, budget: APIBudget(share: share))
    }

    static func account(_ number: Int, name: String? = nil, fields extra: [String: CRMFieldValue] = [:]) -> CRMUpsert {
        let customer = String(format: "%010d", number)
        var fields: [String: CRMFieldValue] = ["Name": .string(name ?? "Customer \(number)"), "Amount_Due__c": .decimal(Decimal(number % 1000) + Decimal(string: "0.25")!)]
        for (key, value) in extra { fields[key] = value }
        return CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: customer, fields: fields)
    }

    func publish(_ upserts: [CRMUpsert]) async throws {
        let producer = try TestKafka.producer()
        let source = MessageSource(system: .billsync, name: "test")
        var messages: [KafkaProducerMessage] = []
        for upsert in upserts {
            let envelope = MessageEnvelope(source: source, businessKey: upsert.externalId, occurredAt: nil, payload: upsert)
            messages.append(KafkaProducerMessage(topic: topics.upserts, key: Array(upsert.externalId.utf8), value: try TestRepository.contracts.encode(envelope)))
        }
        _ = try await producer.sendAll(messages)
        await producer.shutdown()
    }

    /// Short retry tiers, so a record's whole retry path takes under two seconds.
    static let retryTiers: [Duration] = [.milliseconds(500), .seconds(1)]

    /// Runs the stage until `outcomes` messages sit in the results and dead-letter topics
    /// together (or the timeout passes), then stops it gracefully.
    func run<Handler: StageHandler>(_ handler: Handler, group: String, outcomes: Int, timeout: Duration = .seconds(120), inFlight: Int = 2_000,
             whileRunning: @Sendable () async throws -> Void = {}) async throws {
        let contracts = TestRepository.contracts
        var configuration = StageRuntimeConfiguration(stage: "loader", group: group, inputTopics: [topics.upserts],
                                                      retryTopics: [topics.retry1, topics.retry2], deadLetterTopic: topics.dlq)
        configuration.retry.tiers = Self.retryTiers
        configuration.retry.initialBackoff = .milliseconds(50)
        configuration.maximumInFlight = inFlight
        configuration.chunkLinger = .milliseconds(200)
        let producer = try TestKafka.producer()
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(
            group: group, topics: [topics.upserts, topics.retry1, topics.retry2]), logger: TestKafka.logger)
        let counting = CountingHandler(inner: handler)
        let runtime = StageRuntime(configuration: configuration, handler: counting, contracts: contracts, consumer: consumer,
                                   producer: producer, metrics: StageMetrics(stage: "loader"), logger: TestKafka.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runtime.run() }
            try await whileRunning()
            await eventually(timeout: timeout, every: .milliseconds(100)) { counting.decided.value >= outcomes }
            // The last outcomes' messages are written and their inputs committed on the way out.
            consumer.triggerShutdown()
            try await group.waitForAll()
        }
        await producer.shutdown()
    }
}

/// The loader's handler, counting the records whose outcome is final (loaded, or failed for good).
struct CountingHandler<Inner: StageHandler>: StageHandler {
    typealias Input = Inner.Input
    let inner: Inner
    let decided = Counter()

    var batchSize: Int { inner.batchSize }

    func handle(_ batch: [StageMessage<Inner.Input>]) async -> [Result<[OutgoingMessage], StageFailure>] {
        let results = await inner.handle(batch)
        decided.increment(by: results.filter { result in
            if case let .failure(failure) = result { return failure.errorClass != .transient }
            return true
        }.count)
        return results
    }

    func acknowledged(_ outputs: [OutgoingMessage]) async throws { try await inner.acknowledged(outputs) }
}
