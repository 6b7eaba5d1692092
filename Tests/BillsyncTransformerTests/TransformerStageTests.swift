import BillsyncMapping
import BillsyncContracts
import BillsyncKafka
import BillsyncRuntime
import BillsyncTestSupport
@testable import BillsyncTransformer
import Foundation
import Testing

@Suite("The transformer turns raw records into upserts over the broker, dead-letters rule breaks and suppresses repeats")
struct TransformerStageTests {

    @Test("a bill becomes an Account upsert, a bad NMI a dead letter naming the rule, an unchanged repeat nothing")
    func pipeline() async throws {
        let names = try await TestKafka.createTopics("tx", count: 7, partitions: 1)
        let (bills, premises, upserts, retry1, retry2, dlq) = (names[0], names[1], names[2], names[3], names[4], names[5])
        let contracts = TestRepository.contracts
        let lookups = FileManager.default.temporaryDirectory.appendingPathComponent("lookups-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: lookups, withIntermediateDirectories: true)
        try Data("TariffCode,Name\nEA010,Residential flat rate\n".utf8).write(to: lookups.appendingPathComponent("tariffs.csv"))
        let document = try MappingDocument(yaml: String(contentsOf: TestRepository.mappingFile, encoding: .utf8))
        let handler = TransformerHandler(mapper: try RecordMapper(document: document, lookupDirectory: lookups), loaded: LoadedRecords(use: .suppression),
                                         outputTopic: upserts, contracts: contracts)

        let source = MessageSource(system: .csvDrop, name: "test")
        func bill() -> MessageEnvelope<BillingBill> {
            MessageEnvelope(source: source, businessKey: "0001234567", occurredAt: nil, payload: BillingBill(
                billId: "B1", accountId: "ACC-1", customerId: "0001234567", amountDue: "1523.40",
                dueDate: LocalDate(year: 2026, month: 12, day: 14)!, lastBillDate: LocalDate(year: 2026, month: 11, day: 14)!, status: .issued))
        }
        let premise = MessageEnvelope(source: source, businessKey: "63050001234", occurredAt: nil, payload: BillingPremise(
            premiseId: "P1", accountId: "ACC-1", nmi: "63050001234",
            address: PostalAddress(line1: "1 Collins St", suburb: "Melbourne", state: .VIC, postcode: "3000"),
            active: true, serviceStartDate: LocalDate(year: 2019, month: 7, day: 1)!, tariffCode: "EA010"))
        let producer = try TestKafka.producer()
        for message in [bill(), bill()] {
            _ = try await producer.send(KafkaProducerMessage(topic: bills, key: Array(message.businessKey.utf8), value: try contracts.encode(message)))
        }
        _ = try await producer.send(KafkaProducerMessage(topic: premises, key: Array("63050001234".utf8), value: try contracts.encode(premise)))

        var configuration = StageRuntimeConfiguration(stage: "transformer", group: TestKafka.uniqueName("transformer"),
                                                      inputTopics: [bills, premises], retryTopics: [retry1, retry2], deadLetterTopic: dlq)
        configuration.retry.tiers = [.seconds(1), .seconds(1)]
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(group: configuration.group, topics: [bills, premises, retry1, retry2]),
                                         logger: TestKafka.logger)
        let runtime = StageRuntime(configuration: configuration, handler: handler, contracts: contracts, consumer: consumer,
                                   producer: producer, metrics: StageMetrics(stage: "transformer"), logger: TestKafka.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runtime.run() }
            // Committed past the second bill (and the premise, and anything they sent for a
            // retry): each was handled and what it produced is on the broker, so a missing
            // second upsert means it was suppressed, not that it was still on its way.
            let consumed = try await TestKafka.waitUntilConsumed(group: configuration.group, topics: [bills, premises, retry1, retry2],
                                                                 partitions: 1)
            #expect(consumed, "the transformer did not get through its inputs")
            consumer.triggerShutdown()
            try await group.waitForAll()
        }
        await producer.shutdown()

        let written = try await TestKafka.readToEnd(upserts, partitions: 1)
        try #require(written.count == 1, "the unchanged repeat was sent again (or nothing was sent)")
        let upsert = try contracts.decode(written[0].value ?? [], as: CRMUpsert.self)
        #expect(upsert.payload.object == "Account" && upsert.payload.externalId == "0001234567")
        #expect(upsert.payload.fields["Amount_Due__c"] == .decimal(Decimal(string: "1523.4")!))
        #expect(upsert.payload.fields["Last_Bill_Date__c"] == .string("2026-11-14"))
        #expect(upsert.businessKey == "0001234567")
        let letters = try await TestKafka.readToEnd(dlq, partitions: 1)
        #expect(letters.count == 1)
        let letter = try #require(letters.first)
        #expect(letter.headers.first { $0.name == StageHeaders.errorCode }?.value == Array("rule.nmi-checksum".utf8))
        #expect(letter.headers.first { $0.name == StageHeaders.errorPointer }?.value == Array("/payload/nmi".utf8))
    }
}
