import BillsyncAlerter
import BillsyncSalesforce
import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
@testable import BillsyncOperations
import BillsyncSandbox
import BillsyncTestSupport
import BillsyncTopics
import Foundation
import Logging
import Testing

@Suite("The sync report: one document of a run, as JSON, Markdown and an HTML page, with a reconciliation against the CRM")
struct SyncReportTests {
    static let hostileReason = #"Email "x" is <b>bad</b> & </td><script>document.title='pwned'</script> | more"#

    /// A run with every kind of outcome: created, updated, unchanged, dead-lettered at three
    /// stages (two file rows refused by the extractor), retrying, pending, a meter reading into
    /// Salesforce and back to billing, and a roll-up.
    static func fleet() -> FleetScript {
        var fleet = FleetScript()
        for (index, id) in ["r1", "r2", "r3", "r4", "r5", "r7"].enumerated() { fleet.raw(id, key: "000000000\(index + 1)", line: index + 2) }
        fleet.upsert("u1", from: "r1", fields: ["Name": .string("Customer 1"), "Amount_Due__c": .decimal(Decimal(string: "12.50")!)])
        fleet.upsert("u2", from: "r2", fields: ["Name": .string("Customer 2")])
        fleet.deadLetter("r4", stage: .transformer, code: "rule.email", field: "/payload/email", reason: hostileReason, example: "0000000004")
        fleet.upsert("u5", from: "r5", fields: ["Name": .string("Customer 5")])
        fleet.upsert("u7", from: "r7", fields: ["BillingStreet": .string(String(repeating: "x", count: 300))])
        fleet.deadLetter("u7", stage: .loader, code: "sf.STRING_TOO_LONG", field: "/payload/fields/BillingStreet", example: "0000000006")
        fleet.raw("m1", type: "billing-meter-reading", key: "6305000123")
        fleet.upsert("mu1", from: "m1", object: "Meter_Reading__c", externalIdField: "Reading_Id__c", fields: ["Reading__c": .decimal(42)])
        fleet.deadLetter("m1", stage: .loaderBilling, code: "billing.rejected", example: "6305000123")
        fleet.upsert("t1", from: "r1", externalId: "u1", fields: ["Total_Amount_Due__c": .decimal(99)], by: .rollup)
        fleet.deadLetter(nil, stage: .extractor, code: "csv.invalid-date", field: "bill_date", file: "bills.csv", line: 17)
        fleet.deadLetter(nil, stage: .extractor, code: "csv.invalid-date", field: "bill_date", file: "bills.csv", line: 44)
        fleet.caughtUp(.transformer, on: "raw.billing-account")
        fleet.caughtUp(.transformer, on: "raw.billing-meter-reading")
        fleet.caughtUp(.loaderBilling, on: "raw.billing-meter-reading")
        fleet.caughtUp(.loader, on: "upserts")
        fleet.raw("r6", key: "0000000009")  // after the transformer's commit: pending
        fleet.result(for: "u1", "created")
        fleet.result(for: "u2", "updated")
        fleet.result(for: "mu1", "created", object: "Meter_Reading__c")
        fleet.result(for: "t1", "updated")
        fleet.retrying("u5", at: .loader)
        return fleet
    }

    static let started = Timestamp(parsing: "2026-11-21T00:00:00Z")!
    static let finished = Timestamp(parsing: "2026-11-21T00:05:12.250Z")!

    static func report(_ ledger: SyncLedger = fleet().ledger()) -> SyncReport {
        let reconciliation = SyncReport.Reconciliation(
            sampled: 3, matched: 1,
            mismatched: [.init(object: "Account", externalId: "0000000002", field: "Phone", expected: "+61 2 9000 <1234>", actual: nil)],
            missing: [.init(object: "Account", externalId: "0000000003")], unreadable: [])
        return SyncRunReport(ledger: ledger, runId: UUID(uuidString: "C1D2E3F4-A5B6-4C7D-8E9F-0A1B2C3D4E5F")!, startedAt: started, finishedAt: finished,
                             period: SyncReport.Period(from: Timestamp(parsing: "2026-11-20T00:00:00+10:00")!, to: Timestamp(parsing: "2026-11-21T00:00:00+10:00")!),
                             apiCalls: 37, stageTimings: [.init(stage: "extractor", seconds: 12.5), .init(stage: "transformer", seconds: 20.125),
                                                          .init(stage: "loader", seconds: 38)],
                             reconciliation: reconciliation).payload
    }

    @Test("a run's ledger becomes a sync-report message that validates against its schema, with every flow, dead-letter group and count")
    func reportValidates() throws {
        let report = Self.report()
        let bytes = try TestRepository.contracts.encode(report.message())
        let decoded = try TestRepository.contracts.decode(bytes, as: SyncReport.self)
        #expect(decoded.payload == report)
        #expect(report.stage == "fleet" && report.status == .partial)

        let flows = try #require(report.flows)
        let account = try #require(flows.first { $0.object == "Account" && $0.direction == .toSalesforce })
        let numbers: [Int] = [account.extracted, account.transformed, account.created, account.updated, account.suppressed,
                              account.deadLettered, account.retrying, account.pending, account.unaccounted]
        #expect(numbers == [7, 4, 1, 1, 1, 2, 1, 1, 0])
        #expect(flows.first { $0.direction == .rollup }?.updated == 1)
        #expect(flows.first { $0.direction == .toBilling }?.deadLettered == 1)

        let groups = try #require(report.deadLetterGroups)
        #expect(groups.first?.code == "csv.invalid-date" && groups.first?.count == 2)
        #expect(groups.first?.examples == ["bills.csv line 17", "bills.csv line 44"])
        #expect(groups.map(\.command).contains("billsync dlq redrive --stage loader --code sf.STRING_TOO_LONG --field /payload/fields/BillingStreet"))
        #expect(groups.map(\.command).contains("billsync dlq redrive --stage loader-billing --code billing.rejected"))
        #expect(report.counts == SyncReport.Counts(read: 8, rejected: 2, loaded: 4, created: 2, updated: 2, suppressed: 1, deadLettered: 5))
    }

    @Test("the status is failed with a lost record, partial with dead letters or records in flight, and succeeded otherwise")
    func statusFollowsTheLedger() {
        var clean = FleetScript()
        clean.raw("r1", key: "001")
        clean.upsert("u1", from: "r1")
        clean.caughtUp(.transformer, on: "raw.billing-account")
        clean.caughtUp(.loader, on: "upserts")
        clean.result(for: "u1", "created")
        #expect(SyncRunReport.status(of: clean.ledger()) == .succeeded)

        var retrying = clean
        retrying.retrying("u1", at: .loader)
        retrying.facts.results.removeAll()
        #expect(SyncRunReport.status(of: retrying.ledger()) == .partial)

        var refused = clean
        refused.deadLetter(nil, stage: .extractor, code: "csv.columns", file: "export.csv", line: 9)
        #expect(SyncRunReport.status(of: refused.ledger()) == .partial)

        var lost = clean
        lost.facts.results.removeAll()  // the loader committed past it without a result
        #expect(SyncRunReport.status(of: lost.ledger()) == .failed)
    }

    @Test("the redrive command names the stage, the code and the field, and quotes what a shell would split")
    func redriveCommand() {
        #expect(RedriveCommand.for(stage: "transformer", code: "rule.email", field: "/payload/email")
            == "billsync dlq redrive --stage transformer --code rule.email --field /payload/email")
        #expect(RedriveCommand.for(stage: "loader", code: "sf.UNABLE_TO_LOCK_ROW", field: nil) == "billsync dlq redrive --stage loader --code sf.UNABLE_TO_LOCK_ROW")
        #expect(RedriveCommand.for(stage: "extractor", code: "csv.invalid-date", field: "bill date's") == #"billsync dlq redrive --stage extractor --code csv.invalid-date --field 'bill date'\''s'"#)
    }

    @Test("the Markdown report has every flow's numbers, the dead-letter groups with examples and redrive commands, the reconciliation and the timings")
    func markdown() throws {
        let report = Self.report()
        let markdown = SyncReportMarkdown(report).rendered
        #expect(markdown.hasPrefix("# Sync report: partial\n"))
        #expect(markdown.contains("| Account | account | to Salesforce | 7 | 4 | 1 | 1 | 1 | 2 | 1 | 1 | 0 |"))
        #expect(markdown.contains("| Account | hierarchy totals | roll-up to Salesforce | 0 | 1 | 0 | 0 | 1 | 0 | 0 | 0 | 0 |"))
        #expect(markdown.contains("| billing upload | meter-reading | to billing | 1 | 0 | 0 | 0 | 0 | 1 | 0 | 0 | 0 |"))
        for group in try #require(report.deadLetterGroups) {
            #expect(markdown.contains("Redrive: `\(group.command)`"))
            #expect(markdown.contains("**\(group.count) at the \(group.stage)**"))
        }
        #expect(markdown.contains("Examples: `bills.csv line 17`, `bills.csv line 44`"))
        // The reason's markup and pipe are escaped, not rendered.
        #expect(markdown.contains(#"\<b\>bad\</b\> & \</td\>\<script\>"#))
        #expect(markdown.contains(#"\| more"#))
        #expect(markdown.contains("Read back 3 loaded records: 1 matched, 1 with 1 differing field, 1 missing."))
        #expect(markdown.contains(#"| Account | 0000000002 | Phone | +61 2 9000 \<1234\> | *(empty)* |"#))
        #expect(markdown.contains("Missing from the CRM: Account `0000000003`"))
        #expect(markdown.contains("- Salesforce API calls: 37"))
        #expect(markdown.contains("| transformer | 20.125 |") && markdown.contains("| loader | 38 |"))
    }

    @Test("the report's files land in <finished>-<runId>/ as report.json, report.md and report.html, the JSON a valid sync-report message")
    func files() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reports-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let report = Self.report()
        let written = try SyncReportFiles(contracts: TestRepository.contracts).write(report, to: directory)
        let folder = directory.appendingPathComponent("20261121T000512Z-c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f")
        #expect(written.json.path == folder.appendingPathComponent("report.json").path)
        #expect(written.markdown.path == folder.appendingPathComponent("report.md").path)
        #expect(written.html.path == folder.appendingPathComponent("report.html").path)
        let bytes = [UInt8](try Data(contentsOf: written.json))
        #expect(try TestRepository.contracts.decode(bytes, as: SyncReport.self).payload == report)
        #expect(try String(contentsOf: written.markdown, encoding: .utf8) == SyncReportMarkdown(report).rendered)
        #expect(try String(contentsOf: written.html, encoding: .utf8).hasPrefix("<!DOCTYPE html>"))

        // A report its schema refuses is not written at all.
        var broken = report
        broken.flows?[0].created = -1
        broken.runId = UUID()
        #expect(throws: ContractViolation.self) { try SyncReportFiles(contracts: TestRepository.contracts).write(broken, to: directory) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == [folder.lastPathComponent])
    }

    @Test("the HTML report opens in headless Chromium, every number on the page is the JSON report's, and no text became markup")
    func htmlInChromium() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reports-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let written = try SyncReportFiles(contracts: TestRepository.contracts).write(Self.report(), to: directory)

        let dom = try await HeadlessChromium.dumpDOM(of: written.html)
        let shown = try HeadlessChromium.metrics(inDOM: dom)
        let expected = try ReportNumbers.expected(fromMessage: [UInt8](try Data(contentsOf: written.json)))
        #expect(expected.count == 61, "\(expected.count) numbers in the JSON")  // 5 of them: the bills' billing cycle
        #expect(Set(shown.keys) == Set(expected.keys), "on the page only: \(Set(shown.keys).subtracting(expected.keys)); missing: \(Set(expected.keys).subtracting(shown.keys))")
        for (name, value) in expected { #expect(shown[name] == value, "\(name): page \(shown[name].map { "\($0)" } ?? "-"), JSON \(value)") }

        // The hostile reason is text: no script ran or exists, the title is the report's.
        #expect(!dom.lowercased().contains("<script"))
        #expect(dom.contains("<title>Sync report: partial, 2026-11-21T00:05:12.250Z</title>"))
        #expect(dom.contains("&lt;/td&gt;&lt;script&gt;document.title='pwned'&lt;/script&gt;"))
        #expect(dom.contains("<svg class=\"bar\""))

        let artifacts = TestRepository.root.appendingPathComponent(".build/test-artifacts", isDirectory: true)
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let png = artifacts.appendingPathComponent("sync-report.png")
        try await HeadlessChromium.screenshot(of: written.html, to: png)
        let image = try Data(contentsOf: png)
        #expect(image.count > 10_000)
        #expect(Array(image.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let page = artifacts.appendingPathComponent("sync-report.html")
        try? FileManager.default.removeItem(at: page)
        try FileManager.default.copyItem(at: written.html, to: page)
    }

    @Test("the upsert sample stays bounded on a large run and keeps each sampled record's latest changes")
    func samplesStayBounded() {
        var samples = UpsertSamples(capacity: 100, changesPerRecord: 2)
        // 10,000 records, each upserted three times in a row (a transformer change, a second one, a roll-up).
        for record in 0..<10_000 {
            for change in ["a", "b", "c"] {
                samples.keep(id: "u\(record)\(change)", object: "Account", externalIdField: "Billing_Customer_Id__c",
                             externalId: String(format: "%05d", record), fields: ["Name": "n\(record)\(change)"])
            }
        }
        let kept = samples.records(of: "Account")
        #expect(kept.count == 100)
        // The 100 upserted last, most recent first, each with its last two changes.
        #expect(kept.first?.externalId == "09999" && kept.last?.externalId == "09900")
        #expect(kept.allSatisfy { $0.changes.count == 2 })
        #expect(kept.first?.changes.map(\.id) == ["u9999b", "u9999c"])
        #expect(kept.first?.changes.last?.fields["Name"] == "n9999c")

        // A sampled record upserted again becomes the most recent; the least recent other one goes.
        samples.keep(id: "again", object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "09900", fields: [:])
        #expect(samples.records(of: "Account").first?.externalId == "09900")
        #expect(samples.records(of: "Account").last?.externalId == "09901")
        #expect(samples.records(of: "Account").count == 100)
    }

    @Test("the fleet reader keeps the fields of the upserts it reads from the broker, decimals as the CRM will answer them")
    func readerSamplesUpserts() async throws {
        let catalog = TopicCatalog(prefix: TestKafka.uniqueName("report"))
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        try await admin.createTopics([KafkaTopicSpecification(name: catalog.upsertCommands, partitions: 1)])
        let source = MessageSource(system: .billsync, name: "test")
        let upserts = [
            CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0000000001",
                      fields: ["Name": .string("First"), "Amount_Due__c": .decimal(Decimal(string: "12.50")!), "Phone": .null]),
            CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0000000002", fields: ["Name": .string("Other")]),
            CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0000000001",
                      fields: ["Name": .string("Second"), "Active__c": .bool(true)]),
        ]
        let envelopes = upserts.map { MessageEnvelope(source: source, businessKey: $0.externalId, causationId: UUID(), occurredAt: nil, payload: $0) }
        let messages = try envelopes.map { envelope in
            KafkaProducerMessage(topic: catalog.upsertCommands, key: Array(envelope.businessKey.utf8), value: try TestRepository.contracts.encode(envelope))
        }
        let producer = try TestKafka.producer()
        _ = try await producer.sendAll(messages)
        await producer.shutdown()

        let samples = try await FleetTopicReader.reading(connection: TestKafka.connection, catalog: catalog, stages: [],
                                                         ledger: FleetLedger(.init(objects: [:])), logger: TestKafka.logger) { reader in
            try await reader.refresh()
            return reader.ledger.samples
        }
        let records = samples.records(of: "Account")
        #expect(records.map(\.externalId) == ["0000000001", "0000000002"])
        #expect(records.first?.changes.map { $0.id.lowercased() } == [envelopes[0].id, envelopes[2].id].map { $0.uuidString.lowercased() })
        let sent: [String: String?] = ["Name": "First", "Amount_Due__c": "12.5", "Phone": nil]
        #expect(records.first?.changes.first?.fields == sent)
        #expect(records.first?.changes.last?.fields == ["Name": "Second", "Active__c": "true"])
    }

    /// A CRM held in memory.
    final class MemoryCRM: CRMReadBack, @unchecked Sendable {  // written before the reconciler runs, read only during it
        var records: [String: [String: String]] = [:]
        func record(object: String, externalIdField _: String, externalId: String) async throws -> [String: String]? { records["\(object)/\(externalId)"] }
    }

    @Test("a record whose last upsert is still in flight is not read back; one whose last upsert failed is compared with the upsert before it")
    func reconcilerJudgesOnlyFinalRecords() async throws {
        var fleet = FleetScript()
        for id in ["r1", "r2", "r3"] { fleet.raw(id, key: id) }
        fleet.upsert("u1", from: "r1", externalId: "A1", fields: ["Name": .string("Old"), "Phone": .string("0400 000 000")])
        fleet.upsert("u1b", from: "r1", externalId: "A1", fields: ["Name": .string("New"), "Phone": .null])
        fleet.upsert("u2", from: "r2", externalId: "A2", fields: ["Name": .string("Kept")])
        fleet.upsert("u2b", from: "r2", externalId: "A2", fields: ["Name": .string("Refused")])
        fleet.upsert("u3", from: "r3", externalId: "A3", fields: ["Name": .string("In flight")])
        fleet.result(for: "u1", "created")
        fleet.result(for: "u1b", "updated")
        fleet.result(for: "u2", "created")
        fleet.deadLetter("u2b", stage: .loader, code: "sf.FIELD_CUSTOM_VALIDATION_EXCEPTION")
        let crm = MemoryCRM()
        crm.records = ["Account/A1": ["Name": "New", "Billing_Customer_Id__c": "A1"], "Account/A2": ["name": "Kept"], "Account/A3": ["Name": "x"]]

        let reconciliation = try await Reconciler(readBack: crm).reconcile(ledger: fleet.ledger())
        #expect(reconciliation == SyncReport.Reconciliation(sampled: 2, matched: 2, mismatched: [], missing: [], unreadable: []))
    }

    @Test("the reconciler reads a run's loaded records back from the Salesforce emulator and reports exactly the field changed there and the record missing")
    func reconciliationAgainstTheEmulator() async throws {
        try await SalesforceRig.with { rig in
            let client = try rig.client()
            func account(_ number: Int, status: String = "Active") -> CRMUpsert {
                CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: String(format: "%010d", number),
                          fields: ["Name": .string("Customer \(number)"), "Amount_Due__c": .decimal(Decimal(string: "1\(number).50")!),
                                   "Status__c": .string(status), "Phone": .null])
            }
            let loaded = (1...4).map { account($0) }
            let outcomes = try await client.upsertCollection(object: "Account", externalIdField: "Billing_Customer_Id__c", records: loaded)
            #expect(outcomes.allSatisfy { $0.success })
            // Someone edits account 3 in Salesforce; account 5 was reported loaded but is not there.
            _ = try rig.store.upsert(object: "Account", externalField: "Billing_Customer_Id__c", externalValue: "0000000003",
                                     fields: ["Status__c": .text("Closed")])
            var fleet = FleetScript()
            for (index, upsert) in (loaded + [account(5)]).enumerated() {
                fleet.raw("r\(index)", key: upsert.externalId)
                fleet.upsert("u\(index)", from: "r\(index)", externalId: upsert.externalId, fields: upsert.fields)
                fleet.result(for: "u\(index)", "created")
            }
            let callsBefore = rig.emulator.apiUsage.used

            let reconciliation = try await Reconciler(readBack: client).reconcile(ledger: fleet.ledger())
            #expect(reconciliation.sampled == 5)
            #expect(reconciliation.matched == 3)
            #expect(reconciliation.mismatched == [.init(object: "Account", externalId: "0000000003", field: "Status__c", expected: "Active", actual: "Closed")])
            #expect(reconciliation.missing == [.init(object: "Account", externalId: "0000000005")])
            #expect(reconciliation.unreadable == [])
            #expect(rig.emulator.apiUsage.used - callsBefore == 5, "one GET per record, counted by Salesforce")
        }
    }

    @Test("the Salesforce client reads a record by an external id holding a slash and a space, and answers nil for one that does not exist")
    func readBackEncodesTheExternalId() async throws {
        try await SalesforceRig.with { rig in
            _ = try rig.store.upsert(object: "Account", externalField: "Billing_Customer_Id__c", externalValue: "0000000042",
                                     fields: ["Name": .text("Odd"), "Billing_Account_Id__c": .text("BA/42 x"), "Amount_Due__c": .number(10)])
            let client = try rig.client()
            let record = try await client.record(object: "Account", externalIdField: "Billing_Account_Id__c", externalId: "BA/42 x")
            #expect(record?["Name"] == "Odd")
            #expect(record?["Amount_Due__c"] == "10")
            #expect(record?["Billing_Customer_Id__c"] == "0000000042")
            #expect(record?["Phone"] == nil)
            #expect(try await client.record(object: "Account", externalIdField: "Billing_Account_Id__c", externalId: "BA/43") == nil)
            await #expect(throws: BillsyncSalesforce.SalesforceError.self) {
                _ = try await client.record(object: "Account", externalIdField: "Name", externalId: "Odd")
            }
        }
    }
}

/// The Salesforce emulator on a free port, with the sandbox org, for one test.
struct SalesforceRig: Sendable {
    let base: URL
    let emulator: SalesforceEmulator
    let store: SalesforceRecordStore

    static func with<T: Sendable>(_ body: @Sendable (SalesforceRig) async throws -> T) async throws -> T {
        let configuration = SalesforceEmulatorConfiguration()
        let org = try SalesforceOrg(contentsOf: TestRepository.root.appendingPathComponent("Deploy/sandbox/salesforce-org.yaml").path)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("report-sf-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try SalesforceRecordStore(org: org, path: path)
        let emulator = SalesforceEmulator(store: store, configuration: configuration)
        var logger = Logger(label: "sync-report.test")
        logger.logLevel = .critical  // cancelling the server at the end is logged as an error
        return try await SandboxServer(salesforce: emulator, port: 0).serving(logger: logger) { base in
            try await body(SalesforceRig(base: base, emulator: emulator, store: store))
        }
    }

    func client() throws -> SalesforceClient {
        let session = try SalesforceSession(loginURL: emulator.myDomainLoginURL(on: base),
                                            credentials: .clientCredentials(clientID: "billsync-sandbox", clientSecret: "sandbox-secret"))
        return SalesforceClient(session: session, budget: APIBudget())
    }
}
