import BillsyncContracts
import BillsyncSalesforce
import BillsyncLoader
import BillsyncRuntime
import BillsyncSandbox
import BillsyncTestSupport
import BillsyncHTTP
import Foundation
import Synchronization
import Testing

@Suite("The loader tells Salesforce's limits apart, logs in only where its flow works, and follows a Bulk job to whatever end it has", .serialized)
struct SalesforceLimitsAndBulkTests {
    static let clientCredentials = SalesforceCredentials.clientCredentials(clientID: "billsync-sandbox", clientSecret: "sandbox-secret")

    func sink(_ rig: LoaderRig, client: SalesforceClient, alerts: Counter) -> SalesforceSink {
        var sink = SalesforceSink(client: client, resultsTopic: rig.topics.results, alertsTopic: rig.topics.alerts,
                                  contracts: TestRepository.contracts, logger: TestKafka.logger)
        sink.announce = { _ in alerts.increment() }
        return sink
    }

    func batch(_ rig: LoaderRig, _ upserts: [CRMUpsert]) -> [ContractMessage<CRMUpsert>] {
        let source = MessageSource(system: .billsync, name: "test")
        return upserts.enumerated().map { offset, upsert in
            ContractMessage<CRMUpsert>(envelope: MessageEnvelope(source: source, businessKey: upsert.externalId, occurredAt: nil, payload: upsert),
                                       topic: rig.topics.upserts, partition: 0, offset: Int64(offset), logger: TestKafka.logger)
        }
    }

    /// A client whose waits run on `clock`.
    func client(_ rig: LoaderRig, clock: ManualClock) throws -> SalesforceClient {
        var client = try rig.client()
        client.clock = WallClock(clock, startingAt: Date(timeIntervalSince1970: 1_800_000_000))
        return client
    }

    static func failures(_ results: [Result<[OutgoingMessage], StageFailure>]) -> [StageFailure] {
        results.compactMap { if case let .failure(failure) = $0 { failure } else { nil } }
    }

    @Test("client credentials with login.salesforce.com or test.salesforce.com are refused at startup, naming SALESFORCE_LOGIN_URL; a My Domain, or JWT on the login host, is accepted")
    func clientCredentialsNeedMyDomain() async throws {
        for generic in ["https://login.salesforce.com", "https://test.salesforce.com/", "https://na139.salesforce.com"] {
            do {
                _ = try SalesforceSession(loginURL: URL(string: generic)!, credentials: Self.clientCredentials)
                Issue.record("\(generic) was accepted for client credentials")
            } catch let error as BillsyncSalesforce.SalesforceError {
                #expect("\(error)".contains("SALESFORCE_LOGIN_URL") && "\(error)".contains("my.salesforce.com"), "\(error)")
                #expect(!"\(error)".contains("sandbox-secret"))
            }
        }
        for myDomain in ["https://acme.my.salesforce.com", "https://acme--uat.sandbox.my.salesforce.com", "http://127.0.0.1:8090/billsync-sandbox.my.salesforce.com"] {
            _ = try SalesforceSession(loginURL: URL(string: myDomain)!, credentials: Self.clientCredentials)
        }
        let (key, _) = try await TestRepository.makeCertificate()
        _ = try SalesforceSession(loginURL: URL(string: "https://login.salesforce.com")!, credentials: .jwtBearer(
            clientID: "billsync-sandbox", username: "integration@billsync.example", privateKeyPEM: try String(contentsOfFile: key, encoding: .utf8)))
    }

    @Test("a call refused for the concurrent request limit goes again after a brief backoff on the client's clock: no pause, no alert, everything loaded")
    func concurrencyLimitBacksOff() async throws {
        try await LoaderRig.with({ $0.concurrentRequestLimit = 1 }) { rig in
            let clock = ManualClock()
            var client = try client(rig, clock: clock)
            client.concurrencyBackoff = .seconds(2)
            let alerts = Counter()
            let sink = sink(rig, client: client, alerts: alerts)
            rig.emulator.setForeignLongRunningRequests(1)
            let messages = batch(rig, (0..<3).map { LoaderRig.account(9_100_000 + $0) })
            let handling = Task { await sink.handle(messages) }
            await clock.waitForSleeps(1)
            // The object's describe was refused too: its commands are then sent without waiting
            // for their records (it is asked again with the next batch); the upsert waits.
            #expect(rig.emulator.calls.refusedForConcurrency == 2)
            // The other integration's long request ends; the backoff runs out.
            rig.emulator.setForeignLongRunningRequests(0)
            clock.advance(by: .seconds(2))
            let results = await handling.value
            #expect(results.allSatisfy { (try? $0.get()) != nil })
            #expect(alerts.value == 0)
            #expect(rig.emulator.calls.calls(client: "billsync-sandbox", kind: .collections) == 1)
            #expect(rig.emulator.calls.refusedForDailyLimit == 0)
            #expect(try rig.store.count(object: "Account") == 3)
        }
    }

    @Test("bulk polls back off on the client's clock (0.5 s, then 1 s) and read a job finished only when Salesforce says so")
    func bulkPollsBackOff() async throws {
        try await LoaderRig.with { rig in
            let clock = ManualClock()
            let client = try client(rig, clock: clock)
            let upserts = (0..<3).map { LoaderRig.account(9_200_000 + $0) }
            // The org leaves the job queued until the client has polled twice.
            rig.emulator.holdBulkProcessing()
            let job = Task { try await client.bulkUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", records: upserts) }
            func polls() -> Int { rig.emulator.calls.calls(client: "billsync-sandbox", kind: .bulkPoll) }
            await clock.waitForSleeps(1)
            #expect(polls() == 1)
            clock.advance(by: .milliseconds(499))
            #expect(polls() == 1)
            clock.advance(by: .milliseconds(1))
            await clock.waitForSleeps(2)
            #expect(polls() == 2)
            rig.emulator.releaseBulkProcessing()
            await rig.emulator.bulkJobEnded(try #require(rig.emulator.bulkJobs.first?.id))
            clock.advance(by: .milliseconds(999))
            #expect(polls() == 2)
            clock.advance(by: .milliseconds(1))
            let outcome = try await job.value
            #expect(outcome.outcomes.count == 3 && outcome.outcomes.values.allSatisfy { $0.success && $0.created })
            let kinds = rig.emulator.calls.clients["billsync-sandbox"] ?? [:]
            #expect(kinds == ["bulk-create": 1, "bulk-upload": 1, "bulk-state": 1, "bulk-poll": 3, "bulk-results": 2])
            #expect(outcome.calls == 8)
        }
    }

    @Test("a bulk job whose status polls time out twice is polled again, never uploaded again: each record loaded once, in one job")
    func bulkPollsThatTimeOut() async throws {
        try await LoaderRig.with({ $0.bulkPollStalls = 2; $0.bulkPollStall = .seconds(2) }) { rig in
            let clock = ManualClock()
            var client = try client(rig, clock: clock)
            client.timeout = .milliseconds(300)
            var sink = sink(rig, client: client, alerts: Counter())
            sink.bulkThreshold = 5
            let ticking = Task { await clock.advanceEverySleep(by: .seconds(30)) }
            defer { ticking.cancel() }
            let results = await sink.handle(batch(rig, (0..<5).map { LoaderRig.account(9_500_000 + $0) }))
            #expect(Self.failures(results).isEmpty, "\(Self.failures(results).map(\.message))")
            #expect(rig.emulator.bulkJobs.count == 1 && rig.emulator.bulkJobs.first?.state == "JobComplete")
            let creates = try rig.store.creates(object: "Account")
            #expect(creates.creates == 5 && creates.externalIds == 5)
            let kinds = rig.emulator.calls.clients["billsync-sandbox"] ?? [:]
            #expect(kinds["bulk-upload"] == 1 && kinds["bulk-create"] == 1)
            // Both stalled polls reached the org (the client gave up on them), then one answered.
            #expect(rig.emulator.stalledBulkPolls == 2 && (kinds["bulk-poll"] ?? 0) >= 1)
        }
    }

    @Test("a loader stopped while it polled a Bulk job leaves it to the next one, which answers the records delivered again from that job: each loaded once, one upload")
    func restartedLoaderResumesItsJob() async throws {
        try await LoaderRig.with { rig in
            let clock = ManualClock()
            let client = try client(rig, clock: clock)
            let messages = batch(rig, (0..<6).map { LoaderRig.account(9_600_000 + $0) })
            rig.emulator.holdBulkProcessing()
            var stopping = sink(rig, client: client, alerts: Counter())
            stopping.bulkThreshold = 5
            let stopped = Task { await stopping.handle(messages) }
            await clock.waitForSleeps(1)
            // The loader stops while it waits between polls: nothing published, nothing committed.
            stopped.cancel()
            #expect(Self.failures(await stopped.value).count == 6)

            var next = sink(rig, client: client, alerts: Counter())
            next.bulkThreshold = 5
            let resumed = Task { await next.handle(messages) }
            // The next loader found the job queued and polls it; Salesforce then processes it.
            await clock.waitForSleeps(2)
            rig.emulator.releaseBulkProcessing()
            let job = try #require(rig.emulator.bulkJobs.first?.id)
            await rig.emulator.bulkJobEnded(job)
            clock.advance(by: .seconds(1))
            let results = await resumed.value
            #expect(Self.failures(results).isEmpty, "\(Self.failures(results).map(\.message))")
            #expect(rig.emulator.bulkJobs.map(\.state) == ["JobComplete"])
            let kinds = rig.emulator.calls.clients["billsync-sandbox"] ?? [:]
            #expect(kinds["bulk-upload"] == 1 && kinds["bulk-create"] == 1)
            let creates = try rig.store.creates(object: "Account")
            #expect(creates.creates == 6 && creates.externalIds == 6)
        }
    }

    @Test("a bulk job that fails part-way: the records it processed are loaded, the rest go back as transient with the job's errorMessage")
    func failedBulkJob() async throws {
        try await LoaderRig.with({ $0.bulkRecordsPerDay = 3 }) { rig in
            let clock = ManualClock()
            let alerts = Counter()
            var sink = sink(rig, client: try client(rig, clock: clock), alerts: alerts)
            sink.bulkThreshold = 5
            let ticking = Task { await clock.advanceEverySleep(by: .seconds(30)) }
            defer { ticking.cancel() }
            let results = await sink.handle(batch(rig, (0..<5).map { LoaderRig.account(9_300_000 + $0) }))
            let failures = Self.failures(results)
            #expect(results.count - failures.count == 3)
            #expect(failures.count == 2 && failures.allSatisfy { $0.errorClass == .transient && $0.code == "sf.bulk.Failed" })
            #expect(failures.allSatisfy { $0.message.contains("ExceededQuota") }, "\(failures.map(\.message))")
            #expect(try rig.store.count(object: "Account") == 3)
            #expect(alerts.value == 0)
        }
    }

    @Test("a bulk job aborted by someone else while it waits: its records go back as transient, none loaded")
    func abortedBulkJob() async throws {
        try await LoaderRig.with { rig in
            let clock = ManualClock()
            let client = try client(rig, clock: clock)
            var sink = sink(rig, client: client, alerts: Counter())
            sink.bulkThreshold = 5
            let messages = batch(rig, (0..<5).map { LoaderRig.account(9_400_000 + $0) })
            // The org leaves the job queued: the admin's abort comes before it is processed.
            rig.emulator.holdBulkProcessing()
            let handling = Task { await sink.handle(messages) }
            await clock.waitForSleeps(1)
            // An admin aborts the job from Setup (here: the API, with a session of the same org).
            let job = try #require(rig.emulator.bulkJobs.first?.id)
            let token = try await client.session.current()
            let aborted = try await HTTPTransport.shared.send("PATCH", rig.base.appendingPathComponent("services/data/v61.0/jobs/ingest/\(job)"),
                                                              headers: [("Authorization", "Bearer \(token.accessToken)"), ("Content-Type", "application/json")],
                                                              body: Array(#"{"state":"Aborted"}"#.utf8))
            #expect(aborted.status == 200)
            clock.advance(by: .seconds(1))
            let results = await handling.value
            let failures = Self.failures(results)
            #expect(failures.count == 5 && failures.allSatisfy { $0.errorClass == .transient && $0.code == "sf.bulk.Aborted" })
            #expect(try rig.store.count(object: "Account") == 0)
        }
    }
}

extension ManualClock {
    /// Advances the clock by `step` each time the code under test goes to sleep, until cancelled:
    /// for tests that care what happens after the waits, not how long they are.
    func advanceEverySleep(by step: Duration) async {
        var seen = sleepsStarted
        while !Task.isCancelled {
            await waitForSleeps(seen + 1)
            seen = sleepsStarted
            advance(by: step)
        }
    }
}
