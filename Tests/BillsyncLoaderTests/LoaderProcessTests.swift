import BillsyncContracts
import BillsyncKafka
import BillsyncOperations
import BillsyncSandbox
import BillsyncTopics
import BillsyncTestSupport
import Foundation
import Logging
import Testing

@Suite("The loader process loses nothing and duplicates nothing when it is killed mid-batch")
struct LoaderProcessTests {
    @Test("SIGKILL while calls are in flight, then a restart: the org holds every record exactly once")
    func killedMidBatch() async throws {
        let records = 6_000
        var configuration = SalesforceEmulatorConfiguration()
        // A slow org, so the kill lands while a call is in flight.
        configuration.addedLatency = .milliseconds(150)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kill-\(UUID().uuidString).sqlite").path
        let store = try SalesforceRecordStore(org: LoaderRig.org, path: path)
        let emulator = SalesforceEmulator(store: store, configuration: configuration)
        let prefix = TestKafka.uniqueName("lk")
        let catalog = TopicCatalog(partitions: 2, prefix: prefix)
        try await KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger).createTopics(catalog.specifications)
        var logger = Logger(label: "kill.test")
        logger.logLevel = .critical
        try await SandboxServer(salesforce: emulator, port: 0).serving(logger: logger) { base in
            let rig = LoaderRig(base: base, emulator: emulator, store: store, topics: LoaderRig.Topics(
                upserts: catalog.upsertCommands, results: catalog.loadResults, retry1: catalog.retryTopic(stage: .loader, tier: 1),
                retry2: catalog.retryTopic(stage: .loader, tier: 2), dlq: catalog.deadLetterTopic(stage: .loader), alerts: catalog.alerts))
            try await rig.publish((0..<records).map { LoaderRig.account(8_000_000 + $0) })
            // Collections calls only: a backlog this size would otherwise go as one Bulk job, which
            // the emulator finishes by itself after the kill, so the kill would not land mid-run.
            let environment = ["BILLSYNC_TOPIC_PREFIX": prefix, "SALESFORCE_LOGIN_URL": emulator.myDomainLoginURL(on: base).absoluteString,
                               "SALESFORCE_CLIENT_ID": "billsync-sandbox", "SALESFORCE_CLIENT_SECRET": "sandbox-secret",
                               "BILLSYNC_LOADER_BULK_THRESHOLD": "1000000"]
            let first = try WorkerProcess(executable: "billsync-loader", environment: environment)
            #expect(await eventually(timeout: .seconds(90)) { ((try? store.count(object: "Account")) ?? 0) >= 1_000 })
            first.signal(SIGKILL)
            _ = await first.waitForExit(timeout: .seconds(10))
            let loadedBeforeKill = try store.count(object: "Account")
            #expect(loadedBeforeKill < records, "the kill came too late to land mid-run")

            let second = try WorkerProcess(executable: "billsync-loader", environment: environment)
            #expect(await eventually(timeout: .seconds(120)) { ((try? store.count(object: "Account")) ?? 0) >= records })
            // What was loaded before the kill and not yet committed is loaded again: as updates.
            #expect(await eventually(timeout: .seconds(60)) {
                ((try? await second.metric("billsync_loader_records_total")) ?? 0) + Double(loadedBeforeKill) >= Double(records)
            })
            second.signal(SIGTERM)
            #expect(await second.waitForExit(timeout: .seconds(40)) == 0)
            // Counted on Salesforce's side: exactly one record per command, each created exactly
            // once across the kill (what was re-sent after it arrived as updates).
            #expect(try store.count(object: "Account") == records)
            #expect(try emulator.creates(object: "Account") == (records, records))
            #expect(try store.duplicateCreates(object: "Account") == 0)
            // Every call was a full Collections call but those the kill cut short or repeated.
            let calls = emulator.calls.calls(client: "billsync-sandbox", kind: .collections)
            #expect(calls >= records / 200 && calls <= records / 200 + 2 * (loadedBeforeKill / 200 + 2), "\(calls) Collections calls")
            for number in stride(from: 0, to: records, by: 997) {
                #expect(try store.record(object: "Account", externalField: "Billing_Customer_Id__c",
                                         value: String(format: "%010d", 8_000_000 + number)) != nil)
            }
        }
    }
}
