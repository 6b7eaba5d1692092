import BillsyncContracts
import BillsyncKafka
import BillsyncRuntime
import BillsyncTransformer
import Foundation
import Logging
import Synchronization

/// The transformer's throughput on raw bills, against a raw consume→produce pipe on the same
/// broker (the limit on this machine) and a small Python confluent-kafka stage doing the same
/// mapping (what a user would otherwise write), in one run, one partition each.
public struct TransformerBenchmark: Sendable {
    public var connection: KafkaConnection
    public var records = 50_000
    public var python: String
    public var pythonScript: String
    public var schemas: URL
    public var mappingFile: URL
    public var logger: Logger

    public init(connection: KafkaConnection, python: String, pythonScript: String, schemas: URL, mappingFile: URL, logger: Logger) {
        self.connection = connection
        self.python = python
        self.pythonScript = pythonScript
        self.schemas = schemas
        self.mappingFile = mappingFile
        self.logger = logger
    }

    public func run() async throws -> BenchmarkReport {
        let contracts = try MessageContracts(directory: schemas)
        let admin = try KafkaAdmin(connection: connection, logger: logger)
        let tag = UUID().uuidString.prefix(6).lowercased()
        let names = ["raw", "upserts", "pipe", "python", "retry1", "retry2", "dlq"].map { "bench-transformer-\(tag)-\($0)" }
        try await admin.createTopics(names.map { KafkaTopicSpecification(name: $0, partitions: 1) })
        try await seed(names[0], contracts: contracts)
        let transformer = try await runTransformer(input: names[0], output: names[1], retry: [names[4], names[5]], dlq: names[6], contracts: contracts)
        let pipe = try await runPipe(input: names[0], output: names[2])
        let pythonFigure = try runPython(input: names[0], output: names[3])
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return BenchmarkReport(
            benchmark: "transformer",
            settings: ["records": String(records), "partitions": "1", "input": "billing-bill", "peak RSS MB": String(usage.ru_maxrss / 1024)],
            comparisons: [
                BenchmarkComparison(name: "vs raw pipe", measured: transformer, reference: pipe, referenceName: "consume→produce pipe", target: 0.5),
                BenchmarkComparison(name: "vs Python", measured: transformer, reference: pythonFigure, referenceName: "confluent-kafka stage", target: 5),
            ]
        )
    }

    func seed(_ topic: String, contracts: MessageContracts) async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: connection), logger: logger)
        var batch: [KafkaProducerMessage] = []
        for index in 0..<records {
            let customer = String(format: "%010d", 1_000 + index)
            let cents = 2_000 + index % 90_000
            let bill = BillingBill(billId: "B-\(customer)", accountId: "ACC-\(customer)", customerId: customer,
                                   amountDue: Money(parsing: String(format: "%d.%02d", cents / 100, cents % 100))!,
                                   dueDate: LocalDate(year: 2026, month: 12, day: 1 + index % 28)!,
                                   lastBillDate: LocalDate(year: 2026, month: 11, day: 1 + index % 28)!, status: .issued)
            let envelope = MessageEnvelope(source: MessageSource(system: .csvDrop, name: "bench"), businessKey: customer, occurredAt: nil, payload: bill)
            batch.append(KafkaProducerMessage(topic: topic, key: Array(customer.utf8), value: try contracts.encode(envelope)))
            if batch.count == 10_000 {
                _ = try await producer.sendAll(batch)
                batch = []
            }
        }
        _ = try await producer.sendAll(batch)
        await producer.shutdown()
    }

    /// Counts handled records and notes when the first and the last were handled.
    final class Progress: Sendable {
        private let state = Mutex<(count: Int, first: ContinuousClock.Instant?, last: ContinuousClock.Instant?)>((0, nil, nil))
        func add(_ count: Int) {
            state.withLock { state in
                if state.first == nil { state.first = .now }
                state.count += count
                state.last = .now
            }
        }
        var count: Int { state.withLock { $0.count } }
        var seconds: Double {
            state.withLock { state in
                guard let first = state.first, let last = state.last else { return 0 }
                return (last - first).seconds
            }
        }
    }

    struct CountingHandler: StageHandler {
        typealias Input = MessageEnvelope<AnyBillingRecord>
        let inner: TransformerHandler
        let progress: Progress
        var batchSize: Int { inner.batchSize }

        func handle(_ batch: [ContractMessage<AnyBillingRecord>]) async -> [Result<[OutgoingMessage], StageFailure>] {
            await inner.handle(batch)
        }

        func acknowledged(_ outputs: [OutgoingMessage]) async throws {
            progress.add(outputs.count)
        }
    }

    func consumer(_ topic: String) throws -> KafkaConsumer {
        var configuration = KafkaConsumerConfiguration(connection: connection, groupID: "bench-\(UUID().uuidString.prefix(6))",
                                                       subscription: .partitions([KafkaTopicPartition(topic: topic, partition: 0): KafkaOffset.beginning]))
        configuration.properties = ["queued.min.messages": "1000000"]
        configuration.drainTimeout = .seconds(1)
        return try KafkaConsumer(configuration: configuration, logger: logger)
    }

    func runTransformer(input: String, output: String, retry: [String], dlq: String, contracts: MessageContracts) async throws -> ThroughputFigure {
        let document = try MappingDocument(yaml: String(contentsOf: mappingFile, encoding: .utf8))
        let mapper = try RecordMapper(document: document, lookupDirectory: mappingFile.deletingLastPathComponent())
        let progress = Progress()
        let handler = CountingHandler(inner: TransformerHandler(mapper: mapper, loaded: nil, outputTopic: output, contracts: contracts),
                                      progress: progress)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: connection), logger: logger)
        let consumer = try consumer(input)
        let runtime = StageRuntime(configuration: StageRuntimeConfiguration(stage: "transformer", group: "bench", inputTopics: [input],
                                                                            retryTopics: retry, deadLetterTopic: dlq),
                                   handler: handler, contracts: contracts, consumer: consumer, producer: producer,
                                   metrics: StageMetrics(stage: "bench"), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runtime.run() }
            while progress.count < records { try await Task.sleep(for: .milliseconds(20)) }
            consumer.triggerShutdown()
            try await group.waitForAll()
        }
        await producer.shutdown()
        return ThroughputFigure(messages: progress.count, bytes: 0, seconds: progress.seconds)
    }

    /// The same at-least-once loop with no decoding, validation or mapping: bytes in, bytes out.
    func runPipe(input: String, output: String) async throws -> ThroughputFigure {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: connection), logger: logger)
        let consumer = try consumer(input)
        let progress = Progress()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            group.addTask {
                var iterator = consumer.messages.makeAsyncIterator()
                while progress.count < records {
                    let batch = try await iterator.next(upTo: 500)
                    if batch.isEmpty { break }
                    _ = try await producer.sendAll(batch.map { KafkaProducerMessage(topic: output, key: $0.key, value: $0.value) })
                    consumer.markDone(batch)
                    progress.add(batch.count)
                }
                consumer.triggerShutdown()
            }
            try await group.waitForAll()
        }
        await producer.shutdown()
        return ThroughputFigure(messages: progress.count, bytes: 0, seconds: progress.seconds)
    }

    func runPython(input: String, output: String) throws -> ThroughputFigure {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [pythonScript, connection.bootstrapServers.joined(separator: ","), input, output, String(records)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let parts = text.split(whereSeparator: \.isWhitespace)
        guard process.terminationStatus == 0, parts.count == 2, let count = Int(parts[0]), let seconds = Double(parts[1]) else {
            throw BenchmarkError.unreadableOutput(text)
        }
        return ThroughputFigure(messages: count, bytes: 0, seconds: seconds)
    }
}
