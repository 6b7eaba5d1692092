import BillsyncContracts
import BillsyncMapping
import BillsyncJSON
import BillsyncRuntime
import BillsyncTestSupport
import BillsyncTransformer
import Foundation
import Logging
import Testing

@Suite("C1 and C2 accounts get totals over everything below them, rewritten when something below changes")
struct HierarchyRollupTests {
    /// C1 ACC-1 → C2 ACC-2 → C3 ACC-4, and C1 ACC-1 → C2 ACC-3 → C3 ACC-5; ACC-9 is residential.
    static let accounts: [(id: String, customer: String, parent: String?, level: String?)] = [
        ("ACC-1", "0000000001", nil, "C1"), ("ACC-2", "0000000002", "ACC-1", "C2"), ("ACC-3", "0000000003", "ACC-1", "C2"),
        ("ACC-4", "0000000004", "ACC-2", "C3"), ("ACC-5", "0000000005", "ACC-3", "C3"), ("ACC-9", "0000000009", nil, nil),
    ]

    final class Rig {
        let handler: HierarchyRollupHandler
        let contracts = TestRepository.contracts
        let loaded = LoadedRecords(use: .suppression)
        var offset: Int64 = 0
        /// Every fact written so far, as the compacted facts topic would keep it: the latest per key.
        var facts: [String: HierarchyFact] = [:]

        /// A role whose disk is empty: it starts from `facts` (the facts topic read back), and
        /// from what Salesforce was told to hold.
        init(restoring facts: [String: HierarchyFact] = [:], loaded remembered: [UpsertFingerprint] = []) throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("rollup-\(UUID().uuidString).sqlite").path
            let document = try MappingDocument(yaml: String(contentsOf: TestRepository.mappingFile, encoding: .utf8))
            handler = HierarchyRollupHandler(
                mapping: try #require(document.hierarchy), store: try HierarchyStore(path: path, fresh: true),
                writer: UpsertWriter(loaded: loaded, outputTopic: "upserts", contracts: contracts), factsTopic: "facts", contracts: contracts)
            try handler.store.restore(Array(facts.values))
            self.facts = facts
            for fingerprint in remembered { loaded.loaded(fingerprint) }
        }

        /// Fingerprints of every upsert loaded so far.
        var loadedFingerprints: [UpsertFingerprint] = []

        func message(_ type: MessageType, _ fields: [String: JSONValue]) -> ContractMessage<AnyBillingRecord> {
            var object = JSONObject()
            for key in fields.keys.sorted() { object[key] = fields[key] }
            var envelope = MessageEnvelope(source: MessageSource(system: .csvDrop, name: "test"), businessKey: "k", occurredAt: nil,
                                           payload: AnyBillingRecord(fields: .object(object)))
            envelope.type = type
            offset += 1
            return StageMessage(envelope: envelope, topic: type.rawValue, partition: 0, offset: offset, logger: Logger(label: "test"))
        }

        func account(_ entry: (id: String, customer: String, parent: String?, level: String?)) -> ContractMessage<AnyBillingRecord> {
            message(.billingAccount, ["accountId": .string(entry.id), "customerId": .string(entry.customer),
                                      "parentAccountId": entry.parent.map(JSONValue.string) ?? .null,
                                      "hierarchyLevel": entry.level.map(JSONValue.string) ?? .null])
        }

        func bill(_ account: String, _ amount: String, revenue: String, date: String) -> ContractMessage<AnyBillingRecord> {
            message(.billingBill, ["accountId": .string(account), "amountDue": .string(amount),
                                   "fiscalYearToDateRevenue": .string(revenue), "lastBillDate": .string(date)])
        }

        func premise(_ nmi: String, _ account: String, active: Bool) -> ContractMessage<AnyBillingRecord> {
            message(.billingPremise, ["nmi": .string(nmi), "accountId": .string(account), "active": .bool(active)])
        }

        /// Handles a batch, acknowledges its outputs as the runtime would, loads the totals as
        /// the loader would (unless `loading` is false), and returns the totals written per
        /// customer id. `acknowledged: false` is a crash after the facts were written and before
        /// the rest was: the facts are kept, nothing else is.
        /// Every account of the hierarchy, and November's bills of ACC-4 and ACC-5.
        func hierarchyWithFirstBills() -> [ContractMessage<AnyBillingRecord>] {
            HierarchyRollupTests.accounts.map(account) + [
                bill("ACC-4", "100.25", revenue: "1200.00", date: "2026-11-01"), bill("ACC-5", "7.10", revenue: "70.10", date: "2026-11-01"),
            ]
        }

        func run(_ batch: [ContractMessage<AnyBillingRecord>], acknowledged: Bool = true) async throws -> [String: [String: CRMFieldValue]] {
            let results = await handler.handle(batch)
            #expect(results.count == batch.count)
            let outputs = try results.flatMap { try $0.get() }
            for output in outputs where output.topic == "facts" {
                let fact = try contracts.decode(output.value, as: HierarchyFact.self)
                #expect(output.key == fact.payload.key)
                facts[fact.payload.key] = fact.payload
            }
            guard acknowledged else { return [:] }
            try await handler.acknowledged(outputs)
            var written: [String: [String: CRMFieldValue]] = [:]
            for output in outputs where output.topic == "upserts" {
                let upsert = try contracts.decode(output.value, as: CRMUpsert.self)
                loaded.loaded(upsert.payload.fingerprint)
                loadedFingerprints.append(upsert.payload.fingerprint)
                #expect(upsert.businessKey == upsert.payload.externalId)
                #expect(upsert.payload.object == "Account" && upsert.payload.externalIdField == "Billing_Customer_Id__c")
                written[upsert.payload.externalId] = upsert.payload.fields
            }
            return written
        }
    }

    static func totals(_ amount: String, _ revenue: String, _ services: Int) -> [String: CRMFieldValue] {
        ["Total_Amount_Due__c": .decimal(Decimal(string: amount)!), "Total_FYTD_Revenue__c": .decimal(Decimal(string: revenue)!),
         "Active_Services__c": .decimal(Decimal(services))]
    }

    @Test("parents total their subtree exactly; a later change rewrites only the parents above it; a repeat writes nothing")
    func rollups() async throws {
        let rig = try Rig()
        // Children arrive before their parents, and an older bill after a newer one: order must not matter.
        let first = try await rig.run(Self.accounts.reversed().map(rig.account) + [
            rig.bill("ACC-4", "100.25", revenue: "1200.00", date: "2026-11-01"),
            rig.bill("ACC-4", "999.99", revenue: "9999.99", date: "2026-10-01"),
            rig.bill("ACC-1", "10.00", revenue: "100.00", date: "2026-11-01"),
            rig.bill("ACC-2", "20.50", revenue: "200.50", date: "2026-11-01"),
            rig.bill("ACC-5", "7.10", revenue: "70.10", date: "2026-11-01"),
            rig.bill("ACC-9", "55.00", revenue: "550.00", date: "2026-11-01"),
            rig.premise("6102000001", "ACC-4", active: true), rig.premise("6102000002", "ACC-4", active: true),
            rig.premise("6102000003", "ACC-4", active: false), rig.premise("6102000004", "ACC-5", active: true),
            rig.premise("6102000005", "ACC-1", active: true),
        ])
        #expect(first == [
            "0000000001": Self.totals("137.85", "1570.60", 4),
            "0000000002": Self.totals("120.75", "1400.50", 2),
            "0000000003": Self.totals("7.10", "70.10", 1),
        ])

        let second = try await rig.run([rig.bill("ACC-5", "8.10", revenue: "80.10", date: "2026-12-01")])
        #expect(second == ["0000000001": Self.totals("138.85", "1580.60", 4), "0000000003": Self.totals("8.10", "80.10", 1)])

        let repeated = try await rig.run([rig.bill("ACC-5", "8.10", revenue: "80.10", date: "2026-12-01")])
        #expect(repeated.isEmpty)

        // A C3 moving to the other division changes both divisions, and the enterprise not at all.
        let moved = try await rig.run([rig.account(("ACC-5", "0000000005", "ACC-2", "C3"))])
        #expect(moved == ["0000000002": Self.totals("128.85", "1480.60", 3), "0000000003": Self.totals("0", "0", 0)])
    }

    @Test("a role rescheduled with an empty disk computes its totals from every fact it wrote before")
    func restartWithEmptyDisk() async throws {
        let first = try Rig()
        _ = try await first.run(first.hierarchyWithFirstBills() + [first.premise("6102000001", "ACC-4", active: true)])
        let rescheduled = try Rig(restoring: first.facts, loaded: first.loadedFingerprints)
        let change = [("ACC-4", "200.25")]
        let before = try await first.run(change.map { first.bill($0.0, $0.1, revenue: "1300.00", date: "2026-12-01") })
        let after = try await rescheduled.run(change.map { rescheduled.bill($0.0, $0.1, revenue: "1300.00", date: "2026-12-01") })
        #expect(after == before)
        #expect(after == ["0000000001": Self.totals("207.35", "1370.10", 1), "0000000002": Self.totals("200.25", "1300.00", 1)])
    }

    @Test("an account moved to another parent corrects both parents, also when the move is handled again after a crash")
    func moveOnReplay() async throws {
        let rig = try Rig()
        _ = try await rig.run(rig.hierarchyWithFirstBills())
        // The move's facts reach the broker; its totals do not (the process dies): nothing is committed.
        let move = (id: "ACC-5", customer: "0000000005", parent: Optional("ACC-2"), level: Optional("C3"))
        _ = try await rig.run([rig.account(move)], acknowledged: false)
        // Rescheduled: the facts say ACC-5 is under ACC-2 already, and the move is read again.
        let restarted = try Rig(restoring: rig.facts, loaded: rig.loadedFingerprints)
        let replayed = try await restarted.run([restarted.account(move)])
        #expect(replayed["0000000002"] == Self.totals("107.35", "1270.10", 0))
        #expect(replayed["0000000003"] == Self.totals("0", "0", 0), "the parent it left keeps its old totals")
    }

    @Test("the data mapping document lists each roll-up with its rule and target field")
    func documented() throws {
        let document = try MappingDocument(yaml: String(contentsOf: TestRepository.mappingFile, encoding: .utf8))
        let markdown = MappingDocumentation.markdown(document)
        #expect(markdown.contains("| amountDue | sum of the latest bill's amountDue of the account and every account below it | `Account.Total_Amount_Due__c` |"))
        #expect(markdown.contains("| activeServices | number of active premises of the account and every account below it | `Account.Active_Services__c` |"))
    }

    @Test("a hierarchy section with an unknown measure is refused, naming its line")
    func refusesUnknownMeasure() {
        let yaml = """
            version: 1
            objects:
              - { source: billing-bill, object: Account, externalId: { field: X__c, from: customerId }, fields: [] }
            hierarchy:
              object: Account
              externalId: Billing_Customer_Id__c
              rollups:
                amountDue: Total_Amount_Due__c
                margin: Margin__c
            """
        #expect(throws: MappingError.self) { try MappingDocument(yaml: yaml) }
        do {
            _ = try MappingDocument(yaml: yaml)
        } catch {
            #expect(error.line == 9)
            #expect(error.message.contains("unknown key 'margin' in rollups"))
        }
    }
}
