import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncOperations
import BillsyncTestSupport
import BillsyncTopics
import Foundation
import Testing

/// Dead letters written as the stage runtime writes them, on the real broker, listed and redriven.
@Suite("Dead letters are listed by root cause and redriven to where they failed, marked, parked when they keep failing, and recorded")
struct RedriveTests {
    let contracts = TestRepository.contracts

    func upsert(_ customer: String, street: String = String(repeating: "x", count: 300)) throws -> [UInt8] {
        try contracts.encode(MessageEnvelope(
            source: MessageSource(system: .billsync, name: "transformer"), businessKey: customer, occurredAt: nil,
            payload: CRMUpsert(object: "Contact", externalIdField: "Billing_Contact_Id__c", externalId: customer,
                               fields: ["MailingStreet": .string(street)])))
    }

    func deadLetter(_ catalog: TopicCatalog, customer: String, code: String = "STRING_TOO_LONG", redrives: Int = 0) throws -> KafkaProducerMessage {
        var headers = [
            KafkaHeader(name: StageHeaders.originTopic, string: catalog.upsertCommands), KafkaHeader(name: StageHeaders.originPartition, string: "0"),
            KafkaHeader(name: StageHeaders.stage, string: "loader"), KafkaHeader(name: StageHeaders.errorClass, string: "permanent"),
            KafkaHeader(name: StageHeaders.errorCode, string: code), KafkaHeader(name: StageHeaders.errorMessage, string: "too long"),
            KafkaHeader(name: StageHeaders.errorPointer, string: "/payload/fields/MailingStreet"), KafkaHeader(name: StageHeaders.attempts, string: "1"),
            KafkaHeader(name: StageHeaders.correlationID, string: "corr-\(customer)"),
        ]
        if redrives > 0 { headers.append(KafkaHeader(name: StageHeaders.redriveCount, string: "\(redrives)")) }
        return KafkaProducerMessage(topic: catalog.deadLetterTopic(stage: .loader), key: Array(customer.utf8), value: try upsert(customer), headers: headers)
    }

    func fleet() async throws -> (TopicCatalog, [DeadLetterEntry]) {
        let catalog = TopicCatalog(partitions: 1, prefix: TestKafka.uniqueName("dlq"))
        try await KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger).createTopics(catalog.specifications)
        let row = KafkaProducerMessage(topic: catalog.deadLetterTopic(stage: .extractor), key: Array("export.csv:7".utf8),
                                       value: Array("0000000007;Smith".utf8),
                                       headers: [KafkaHeader(name: StageHeaders.errorCode, string: "csv.CustomerID"),
                                                 KafkaHeader(name: StageHeaders.stage, string: "extractor")])
        let producer = try TestKafka.producer()
        _ = try await producer.sendAll([
            try deadLetter(catalog, customer: "0000000001"), try deadLetter(catalog, customer: "0000000002"),
            try deadLetter(catalog, customer: "0000000003", redrives: 3), try deadLetter(catalog, customer: "0000000004", code: "INVALID_EMAIL_ADDRESS"),
            row,
        ])
        await producer.shutdown()
        let entries = try await DeadLetterReader.read(connection: TestKafka.connection, catalog: catalog, groupID: TestKafka.uniqueName("dlq-reader"),
                                                      logger: TestKafka.logger)
        return (catalog, entries)
    }

    @Test("the list groups dead letters by stage, code and field with counts and example keys")
    func list() async throws {
        let (_, entries) = try await fleet()
        let groups = DeadLetterGroupSummary.of(entries)
        #expect(groups.map(\.count) == [3, 1, 1])
        #expect(groups.first?.code == "STRING_TOO_LONG" && groups.first?.field == "/payload/fields/MailingStreet")
        #expect(groups.first?.examples == ["0000000001", "0000000002", "0000000003"])
    }

    @Test("a redrive sends the selected dead letters back marked, parks the one redriven too often, and records who, what and how it ended")
    func redrive() async throws {
        let (catalog, entries) = try await fleet()
        let redrive = Redrive(catalog: catalog, contracts: contracts)
        let filter = DeadLetterFilter(stage: "loader", code: "STRING_TOO_LONG", field: "/payload/fields/MailingStreet")
        let plan = redrive.plan(entries, filter: filter)
        #expect(plan.send.count == 2 && plan.park.count == 1 && plan.unroutable.isEmpty)
        #expect(plan.perTopic == [catalog.upsertCommands: 2])
        #expect(redrive.plan(entries, filter: DeadLetterFilter(stage: "extractor")).unroutable.count == 1)

        let producer = try TestKafka.producer()
        let activity = try await redrive.run(plan, filter: filter, by: "ops@utility.example", rate: 1_000, producer: producer)
        await producer.shutdown()
        #expect(activity.result == "completed: 2 redriven, 1 parked")

        let sent = try await TestKafka.readToEnd(catalog.upsertCommands, partitions: 1)
        #expect(sent.map(\.keyString) == ["0000000001", "0000000002"])
        for message in sent {
            #expect(message.headers.last(named: StageHeaders.replayID) == activity.activityId.uuidString.lowercased())
            #expect(message.headers.last(named: StageHeaders.redriveCount) == "1")
            #expect(message.headers.last(named: StageHeaders.errorCode) == nil, "the stage sees a fresh message")
            #expect(message.headers.last(named: StageHeaders.correlationID) != nil, "its lineage is kept")
            #expect(try contracts.decode(message.value ?? [], as: CRMUpsert.self).payload.externalId == message.keyString)
        }
        #expect(try await TestKafka.readToEnd(catalog.parking, partitions: 1).map(\.keyString) == ["0000000003"])
        let records = try await TestKafka.readToEnd(catalog.operatorActivity, partitions: 1)
            .map { try contracts.decode($0.value ?? [], as: OperatorActivity.self).payload }
        #expect(records.count == 2, "started, then finished")
        let last = try #require(records.last)
        #expect(last.finishedAt != nil && last.startedBy == "ops@utility.example" && last.count == 2 && last.parked == 1)
        #expect(last.stages == ["loader"] && last.filter == "--stage loader --code STRING_TOO_LONG --field /payload/fields/MailingStreet")
    }

    @Test("a redrive through a fix sends the corrected value, and a fix that breaks the contract is refused naming the dead letter")
    func fixes() async throws {
        let (_, entries) = try await fleet()
        let catalog = TopicCatalog(prefix: "unused")
        let entry = try #require(entries.first { $0.message.keyString == "0000000001" })
        let fixed = try Redrive(catalog: catalog, contracts: contracts, fixes: [try #require(Redrive.Fix("/payload/fields/MailingStreet=12 Short St"))])
            .message(for: entry, replayID: "r")
        let upsert = try contracts.decode(fixed.value ?? [], as: CRMUpsert.self).payload
        #expect(upsert.fields["MailingStreet"] == .string("12 Short St"))
        let breaking = Redrive(catalog: catalog, contracts: contracts, fixes: [try #require(Redrive.Fix("/payload/externalId=42"))])
        #expect(throws: Redrive.FixFailed.self) { try breaking.message(for: entry, replayID: "r") }
    }

    @Test("an interrupted redrive resumed with the same selection sends only what the first run had not, under the same id")
    func resume() async throws {
        let (catalog, entries) = try await fleet()
        let redrive = Redrive(catalog: catalog, contracts: contracts)
        let filter = DeadLetterFilter(stage: "loader", code: "STRING_TOO_LONG")
        let whole = redrive.plan(entries, filter: filter)
        let first = try #require(whole.send.first)
        // As an interrupted run leaves its record: one sent, through that one's offset.
        let stopped = OperatorActivity(kind: .redrive, stages: ["loader"], startedAt: .now, startedBy: "ops", description: "dlq redrive",
                                       filter: filter.description, count: 1, parked: 0, result: "interrupted after 1",
                                       through: ["\(first.message.topic):\(first.message.partition)": first.message.offset])
        let rest = redrive.plan(entries, filter: filter, after: stopped.through ?? [:])
        #expect(rest.send.map { $0.message.keyString } == ["0000000002"])
        #expect(rest.park.count == 1)
        let producer = try TestKafka.producer()
        let finished = try await redrive.run(rest, filter: filter, by: "ops", rate: nil, producer: producer, resuming: stopped)
        await producer.shutdown()
        #expect(finished.activityId == stopped.activityId)
        #expect(finished.count == 2 && finished.parked == 1)
        #expect(finished.result == "completed: 2 redriven, 1 parked")
        #expect(try await TestKafka.readToEnd(catalog.upsertCommands, partitions: 1).map(\.keyString) == ["0000000002"])
    }
}
