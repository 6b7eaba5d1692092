import BillsyncContracts
import BillsyncKafka
import BillsyncLoader
import BillsyncOperations
import BillsyncSandbox
import BillsyncTestSupport
import BillsyncTopics
import Foundation
import Testing

/// The operator tool's repairs, followed through the real loader into the Salesforce emulator:
/// counted on the emulator's side.
@Suite("Redriven dead letters and replayed upserts reach Salesforce once per record", .serialized)
struct OperatorRepairTests {
    let contracts = TestRepository.contracts

    func sink(_ rig: LoaderRig) throws -> SalesforceSink {
        SalesforceSink(client: try rig.client(), resultsTopic: rig.topics.results, alertsTopic: rig.topics.alerts, contracts: contracts,
                       logger: TestKafka.logger)
    }

    func deadLetters(_ catalog: TopicCatalog) async throws -> [DeadLetterEntry] {
        try await DeadLetterReader.read(connection: TestKafka.connection, catalog: catalog, groupID: TestKafka.uniqueName("dlq"), logger: TestKafka.logger)
    }

    func externalIDs(_ messages: [KafkaConsumerMessage]) -> [String] {
        messages.compactMap { try? contracts.decode($0.value ?? [], as: CRMUpsert.self).payload.externalId }
    }

    @Test("a redrive through a fix is loaded and recorded, a second one adds no record, and a record that fails on every redrive is parked")
    func redriveThroughTheLoader() async throws {
        let catalog = TopicCatalog(partitions: 1, prefix: TestKafka.uniqueName("repair"))
        try await LoaderRig.with(catalog: catalog) { rig in
            let sink = try sink(rig)
            let group = catalog.group(of: .loader)
            let long = String(repeating: "N", count: 300)
            try await rig.publish([LoaderRig.account(1), LoaderRig.account(2, name: long), LoaderRig.account(3, name: long)])
            try await rig.run(sink, group: group, outcomes: 3)
            #expect(try rig.store.count(object: "Account") == 1)
            #expect(try await deadLetters(catalog).map(\.facts.code) == ["sf.STRING_TOO_LONG", "sf.STRING_TOO_LONG"])

            // The name corrected upstream: redriven with the fix, twice.
            let fixed = Redrive(catalog: catalog, contracts: contracts, limit: 2, fixes: [try #require(Redrive.Fix("/payload/fields/Name=Customer Two"))])
            let two = DeadLetterFilter(stage: "loader", keys: ["0000000002"])
            var activities: [OperatorActivity] = []
            for _ in 1...2 {
                let plan = fixed.plan(try await deadLetters(catalog), filter: two)
                #expect(plan.send.count == 1)
                let producer = try TestKafka.producer()
                activities.append(try await fixed.run(plan, filter: two, by: "ops@utility.example", rate: nil, producer: producer))
                await producer.shutdown()
                try await rig.run(sink, group: group, outcomes: 1)
            }
            #expect(try rig.store.count(object: "Account") == 2)
            #expect(try rig.store.duplicateCreates(object: "Account") == 0)
            let records = try rig.store.records(object: "Account", externalField: "Billing_Customer_Id__c", value: "0000000002")
            #expect(records.count == 1)
            #expect(records.first?.fields["Name"] == .text("Customer Two"))

            let recorded = try await Republisher.activities(connection: TestKafka.connection, catalog: catalog, contracts: contracts,
                                                            groupID: TestKafka.uniqueName("activities"), logger: TestKafka.logger)
            #expect(recorded.map(\.activityId) == activities.map(\.activityId))
            for activity in recorded {
                #expect(activity.kind == .redrive && activity.startedBy == "ops@utility.example" && activity.count == 1)
                #expect(activity.filter == two.description && activity.result == "completed: 1 redriven, 0 parked" && activity.finishedAt != nil)
            }

            // No fix: it fails on each redrive, comes back with its count raised, and is parked at the limit.
            let unfixed = Redrive(catalog: catalog, contracts: contracts, limit: 2)
            let three = DeadLetterFilter(stage: "loader", keys: ["0000000003"])
            for round in 1...3 {
                let plan = unfixed.plan(try await deadLetters(catalog), filter: three)
                #expect(plan.superseded.count == round - 1, "round \(round)")
                let producer = try TestKafka.producer()
                _ = try await unfixed.run(plan, filter: three, by: "ops", rate: nil, producer: producer)
                await producer.shutdown()
                if round < 3 {
                    #expect(plan.send.count == 1 && plan.park.isEmpty, "round \(round)")
                    try await rig.run(sink, group: group, outcomes: 1)
                } else {
                    #expect(plan.send.isEmpty && plan.park.count == 1)
                }
            }
            let redriven = try await deadLetters(catalog).filter(three.matches)
            #expect(redriven.map(\.redrives).sorted() == [0, 1, 2])
            let parked = try await TestKafka.readToEnd(catalog.parking, partitions: 1)
            #expect(parked.map(\.keyString) == ["0000000003"])
            #expect(parked.first?.headers.last(named: StageHeaders.redriveCount) == "2")
            #expect(try rig.store.count(object: "Account") == 2)
            #expect(try rig.store.duplicateCreates(object: "Account") == 0)
        }
    }
}
