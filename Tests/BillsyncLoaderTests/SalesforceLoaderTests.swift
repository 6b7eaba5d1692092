import BillsyncContracts
import BillsyncSalesforce
import BillsyncKafka
import BillsyncLoader
import BillsyncRuntime
import BillsyncSandbox
import BillsyncTestSupport
import Foundation
import Logging
import Testing

@Suite("The loader upserts into Salesforce exactly once per record, within its limits, and publishes every outcome", .serialized)
struct SalesforceLoaderTests {
    func handler(_ rig: LoaderRig, client: SalesforceClient) -> SalesforceSink {
        var handler = SalesforceSink(client: client, resultsTopic: rig.topics.results, alertsTopic: rig.topics.alerts,
                                            contracts: TestRepository.contracts, logger: TestKafka.logger)
        handler.probeInterval = .milliseconds(200)
        let topic = rig.topics.alerts
        handler.announce = { alert in
            guard let producer = try? TestKafka.producer() else { return }
            _ = try? await producer.send(KafkaProducerMessage(topic: topic, key: Array(alert.key.utf8), value: alert.value))
            await producer.shutdown()
        }
        return handler
    }

    /// Every result the loader published (read after it stopped, so all of them are there).
    func results(_ rig: LoaderRig, count _: Int) async throws -> [CRMLoadResult] {
        try await TestKafka.readToEnd(rig.topics.results, partitions: 2).map {
            try TestRepository.contracts.decode($0.value ?? [], as: CRMLoadResult.self).payload
        }
    }

    @Test("10,000 commands: the org holds exactly 10,000 records, every result is published, a second run is all updates, ≤ 5 calls per 1,000")
    func tenThousand() async throws {
        try await LoaderRig.with { rig in
            let upserts = (0..<10_000).map { LoaderRig.account(1_000_000 + $0) }
            try await rig.publish(upserts)
            let client = try rig.client()
            let group = TestKafka.uniqueName("loader")
            try await rig.run(handler(rig, client: client), group: group, outcomes: 10_000)
            #expect(try rig.store.count(object: "Account") == 10_000)
            let first = try await results(rig, count: 10_000)
            #expect(first.count == 10_000)
            #expect(first.allSatisfy { $0.outcome == .created && $0.recordId?.hasPrefix("001") == true })
            #expect(Set(first.map(\.externalId)).count == 10_000)
            // Counted on Salesforce's side: 50 full Collections calls and the object's describe (asked
            // once: which fields create a record), each record created exactly once.
            let calls = rig.emulator.calls.calls(client: "billsync-sandbox")
            #expect(calls <= 51, "\(calls) calls for 10,000 records")
            #expect(try rig.emulator.creates(object: "Account") == (10_000, 10_000))

            // The same commands again (a replay), read on by the same group: nothing new is created.
            try await rig.publish(upserts)
            let second = try rig.client()
            try await rig.run(handler(rig, client: second), group: group, outcomes: 10_000)
            #expect(try rig.store.count(object: "Account") == 10_000)
            #expect(try rig.emulator.creates(object: "Account") == (10_000, 10_000))
            #expect(try rig.store.duplicateCreates(object: "Account") == 0)
            // A new loader process asks the object's describe once more.
            #expect(rig.emulator.calls.calls(client: "billsync-sandbox") <= 102)
            let all = try await results(rig, count: 20_000)
            #expect(all.filter { $0.outcome == .updated }.count == 10_000)
        }
    }

    @Test("with 5 % row locks, 1 % 503s and the session expiring every 500 calls, everything is loaded and calls stay near the minimum")
    func faults() async throws {
        let records = 4_000
        try await LoaderRig.with({ configuration in
            configuration.lockRowFailureRate = 0.05
            configuration.serviceUnavailableRate = 0.01
            configuration.expireTokenEvery = 500
        }) { rig in
            try await rig.publish((0..<records).map { LoaderRig.account(2_000_000 + $0) })
            let client = try rig.client()
            try await rig.run(handler(rig, client: client), group: TestKafka.uniqueName("loader"), outcomes: records)
            #expect(try rig.store.count(object: "Account") == records)
            let loaded = try await results(rig, count: records)
            #expect(loaded.count == records && loaded.allSatisfy(\.success))
            // The minimum is 20 calls; each injected failure may cost one more call at most.
            let minimum = records / 200
            let injected = Int(Double(records) * 0.05) + Int(Double(minimum) * 0.01 * 2) + 1
            let calls = rig.emulator.calls.calls(client: "billsync-sandbox")
            #expect(Double(calls) <= 1.1 * Double(minimum + injected), "\(calls) calls, counted by the emulator")
            #expect(try rig.emulator.creates(object: "Account") == (records, records))
        }
    }

    @Test("a record that keeps failing transiently is sent in-process attempts × (retry tiers + 1) times, as configured, then dead-lettered")
    func sendsFollowTheRetryPolicy() async throws {
        try await LoaderRig.with({ $0.lockRowFailureRate = 1.0 }) { rig in
            try await rig.publish([LoaderRig.account(8_000_000)])
            let client = try rig.client()
            try await rig.run(handler(rig, client: client), group: TestKafka.uniqueName("loader"), outcomes: 0) {
                _ = try await TestKafka.read(rig.topics.dlq, partitions: 2, count: 1, timeout: .seconds(60))
            }
            let policy = RetryPolicy()
            let expected = policy.inProcessAttempts * (LoaderRig.retryTiers.count + 1)
            // Counted by Salesforce (the emulator), not by the loader; and the object's describe, once.
            #expect(rig.emulator.apiUsage.used == expected + 1)
            let dead = try await TestKafka.readToEnd(rig.topics.dlq, partitions: 2)
            #expect(dead.count == 1)
            let attempts = dead.first?.headers.last { $0.name == StageHeaders.attempts }?.value.map { String(decoding: $0, as: UTF8.self) }
            #expect(attempts == String(expected))
            #expect(try rig.store.count(object: "Account") == 0)
        }
    }

    func batch(_ rig: LoaderRig, _ upserts: [CRMUpsert], mayWait: Bool = true) -> [ContractMessage<CRMUpsert>] {
        let source = MessageSource(system: .billsync, name: "test")
        return upserts.enumerated().map { offset, upsert in
            StageMessage(input: MessageEnvelope(source: source, businessKey: upsert.externalId, occurredAt: nil, payload: upsert),
                         topic: rig.topics.upserts, partition: 0, offset: Int64(offset), logger: TestKafka.logger, mayWait: mayWait)
        }
    }

    /// A bill's amounts for an Account: no Name, so it can update the record but not create it.
    static func amounts(_ number: Int, _ amount: Decimal = 12) -> CRMUpsert {
        CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: String(format: "%010d", number),
                  fields: ["Amount_Due__c": .decimal(amount)])
    }

    @Test("two changes of one record in one batch go to Salesforce as one upsert, the later value staying")
    func changesOfOneRecordAreMerged() async throws {
        try await LoaderRig.with { rig in
            let sink = handler(rig, client: try rig.client())
            let results = await sink.handle(batch(rig, [LoaderRig.account(8_100_000, name: "Old name"), LoaderRig.account(8_100_000, name: "New name")]))
            #expect(results.allSatisfy { (try? $0.get()) != nil })
            #expect(try rig.store.record(object: "Account", externalField: "Billing_Customer_Id__c", value: "0008100000")?.fields["Name"] == .text("New name"))
            // Counted by the emulator: the describe and one upsert, the record never twice in a request.
            #expect(rig.emulator.apiUsage.used == 2)
        }
    }

    @Test("an account's and its bill's changes in one batch reach Salesforce in one upsert, without a failed call, whichever comes first")
    func accountAndBillTogether() async throws {
        try await LoaderRig.with { rig in
            let sink = handler(rig, client: try rig.client())
            let results = await sink.handle(batch(rig, [Self.amounts(8_200_000), LoaderRig.account(8_200_000)]))
            #expect(results.allSatisfy { (try? $0.get()) != nil }, "\(results)")
            let record = try #require(try rig.store.record(object: "Account", externalField: "Billing_Customer_Id__c", value: "0008200000"))
            #expect(record.fields["Name"] == .text("Customer 8200000"))
            #expect(try rig.store.count(object: "Account") == 1)
            #expect(rig.emulator.apiUsage.used == 2)
        }
    }

    @Test("a change that cannot create its record waits for it without a call; once it may wait no longer it is sent and retried")
    func changeWaitsForItsRecord() async throws {
        try await LoaderRig.with { rig in
            let sink = handler(rig, client: try rig.client())
            let waiting = await sink.handle(batch(rig, [Self.amounts(8_300_000)]))
            guard case let .failure(failure) = waiting[0] else { Issue.record("sent without its record"); return }
            #expect(failure.waits && failure.code == "loader.awaits-record")
            #expect(failure.message.contains("Name"))
            #expect(rig.emulator.apiUsage.used == 1, "only the describe")
            let sent = await sink.handle(batch(rig, [Self.amounts(8_300_000)], mayWait: false))
            guard case let .failure(refused) = sent[0] else { Issue.record("an update without a Name created an Account"); return }
            #expect(refused.code == "sf.REQUIRED_FIELD_MISSING" && refused.errorClass == .transient && !refused.waits)
            // Once the record exists, the same change is sent at once.
            _ = await sink.handle(batch(rig, [LoaderRig.account(8_300_000)]))
            let updated = await sink.handle(batch(rig, [Self.amounts(8_300_000, 13)]))
            #expect((try? updated[0].get()) != nil)
        }
    }

    @Test("through the stage, a bill whose account comes in a later chunk waits for it: nothing retried, no failed call")
    func waitsAcrossChunks() async throws {
        try await LoaderRig.with { rig in
            try await rig.publish([Self.amounts(8_400_000)])
            try await rig.run(handler(rig, client: try rig.client()), group: TestKafka.uniqueName("loader"), outcomes: 2) {
                // The bill was looked at (the object described) and is waiting: now its account comes.
                let looked = await eventually(timeout: .seconds(30)) { rig.emulator.apiUsage.used >= 1 }
                #expect(looked)
                try await rig.publish([LoaderRig.account(8_400_000)])
            }
            let record = try #require(try rig.store.record(object: "Account", externalField: "Billing_Customer_Id__c", value: "0008400000"))
            #expect(record.fields["Amount_Due__c"] == .number(0.25), "the account came later: its amount stays")
            #expect(record.fields["Name"] == .text("Customer 8400000"))
            #expect(rig.emulator.apiUsage.used == 2, "the describe and one upsert")
            #expect(try await TestKafka.readToEnd(rig.topics.retry1, partitions: 2).isEmpty)
            #expect(try rig.store.duplicateCreates(object: "Account") == 0)
        }
    }

    @Test("a load Salesforce accepted is remembered on the loaded-records topic with its fingerprint; a refused one is not")
    func loadedTopicOnlyForSuccess() async throws {
        try await LoaderRig.with { rig in
            var sink = handler(rig, client: try rig.client())
            sink.loadedTopic = "loaded"
            let good = LoaderRig.account(8_500_000)
            let tooLong = LoaderRig.account(8_500_001, name: String(repeating: "x", count: 300))
            let results = await sink.handle(batch(rig, [good, tooLong]))
            let outputs = try results[0].get()
            let loaded = try #require(outputs.first { $0.topic == "loaded" })
            let remembered = try TestRepository.contracts.decode(loaded.value, as: CRMLoadResult.self).payload
            #expect(remembered.loadedFingerprint == good.fingerprint)
            guard case let .failure(failure) = results[1] else { Issue.record("a 300-character Name was loaded"); return }
            #expect(failure.code == "sf.STRING_TOO_LONG")
            #expect(!failure.companions.contains { $0.topic == "loaded" })
            #expect(sink.knownRecords.exists(object: "Account", externalId: good.externalId))
            #expect(!sink.knownRecords.exists(object: "Account", externalId: tooLong.externalId))
        }
    }

    @Test("the daily limit reached mid-run pauses the loader with one alert; raised, it finishes with nothing lost")
    func dailyLimit() async throws {
        let records = 3_000
        try await LoaderRig.with({ configuration in
            configuration.dailyAPILimit = 6
        }) { rig in
            try await rig.publish((0..<records).map { LoaderRig.account(3_000_000 + $0) })
            let client = try rig.client(share: 1.0)
            try await rig.run(handler(rig, client: client), group: TestKafka.uniqueName("loader"), outcomes: records) {
                // Wait for the pause to be reported, then raise the limit as an admin would.
                let alert = try await TestKafka.read(rig.topics.alerts, partitions: 2, count: 1, timeout: .seconds(60))
                #expect(alert.count == 1)
                #expect(try rig.store.count(object: "Account") < records)
                rig.emulator.setDailyLimit(100_000)
            }
            #expect(try rig.store.count(object: "Account") == records)
            #expect(try await results(rig, count: records).count == records)
            let alerts = try await TestKafka.readToEnd(rig.topics.alerts, partitions: 2)
            let alert = try TestRepository.contracts.decode(alerts[0].value ?? [], as: Alert.self).payload
            #expect(alert.kind == .apiBudget && alert.dedupeKey == "api-budget/salesforce")
            #expect(alerts.count <= 2, "one alert per pause")
            let dead = try await TestKafka.readToEnd(rig.topics.dlq, partitions: 2)
            #expect(dead.isEmpty)
        }
    }

    @Test("validation failures are dead-lettered with Salesforce's code and field, and a failed result is published")
    func validationFailures() async throws {
        try await LoaderRig.with { rig in
            let good = (0..<5).map { LoaderRig.account(4_000_000 + $0) }
            let missingName = CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0004000100",
                                        fields: ["Amount_Due__c": .decimal(12)])
            let tooLong = LoaderRig.account(4_000_101, name: String(repeating: "x", count: 300))
            try await rig.publish(good + [missingName, tooLong])
            let client = try rig.client()
            // The record without a Name may only lack its creating upsert: it is retried (in
            // process, then through the retry topics) before it is dead-lettered.
            try await rig.run(handler(rig, client: client), group: TestKafka.uniqueName("loader"), outcomes: 6) {
                _ = try await TestKafka.read(rig.topics.dlq, partitions: 2, count: 2, timeout: .seconds(60))
            }
            let dead = try await TestKafka.readToEnd(rig.topics.dlq, partitions: 2)
            #expect(dead.count == 2)
            var codes: [String: String] = [:]
            var classes: [String: String] = [:]
            var attempts: [String: Int] = [:]
            for letter in dead {
                let headers = Dictionary(letter.headers.map { ($0.name, String(decoding: $0.value ?? [], as: UTF8.self)) }, uniquingKeysWith: { $1 })
                codes[letter.keyString ?? ""] = headers[StageHeaders.errorCode]
                classes[letter.keyString ?? ""] = headers[StageHeaders.errorClass]
                attempts[letter.keyString ?? ""] = headers[StageHeaders.attempts].flatMap { Int($0) }
            }
            #expect(codes == ["0004000100": "sf.REQUIRED_FIELD_MISSING", "0004000101": "sf.STRING_TOO_LONG"])
            // Too long is final at once; a missing Name only after every retry.
            #expect(classes == ["0004000100": "transient", "0004000101": "permanent"])
            #expect(attempts["0004000101"] == 1 && (attempts["0004000100"] ?? 0) > 3)
            let failed = try await results(rig, count: 7).filter { !$0.success }
            #expect(Set(failed.map(\.externalId)) == ["0004000100", "0004000101"])
            #expect(failed.first { $0.externalId == "0004000100" }?.errors.first?.fields == ["Name"])
            #expect(try rig.store.count(object: "Account") == 5)
        }
    }

    @Test("a 100,000-record backfill goes through Bulk API 2.0 jobs; its failed rows are dead-lettered one by one")
    func bulkBackfill() async throws {
        let records = 100_000
        try await LoaderRig.with { rig in
            let bad = Set([17, 23_456, 99_999])
            try await rig.publish((0..<records).map { LoaderRig.account(7_000_000 + $0, name: bad.contains($0) ? String(repeating: "y", count: 256) : nil) })
            let client = try rig.client()
            var sink = handler(rig, client: client)
            sink.bulkThreshold = 5_000
            try await rig.run(sink, group: TestKafka.uniqueName("loader"), outcomes: records, timeout: .seconds(600), inFlight: 10_000)
            #expect(try rig.store.count(object: "Account") == records - bad.count)
            // Collections would need at least 500 calls; each Bulk job costs about seven.
            let calls = rig.emulator.calls.calls(client: "billsync-sandbox")
            #expect(calls < 150, "\(calls) calls, counted by the emulator")
            #expect(try rig.emulator.creates(object: "Account") == (records - bad.count, records - bad.count))
            let dead = try await TestKafka.readToEnd(rig.topics.dlq, partitions: 2)
            #expect(Set(dead.compactMap(\.keyString)) == Set(bad.map { String(format: "%010d", 7_000_000 + $0) }))
            #expect(dead.allSatisfy { $0.headers.first { $0.name == StageHeaders.errorCode }?.value == Array("sf.STRING_TOO_LONG".utf8) })
        }
    }

    @Test("a JWT bearer login signed with the connected app's key is accepted; a wrong key is refused clearly")
    func jwtBearer() async throws {
        let (keyPath, certificatePath) = try await TestRepository.makeCertificate()
        let certificate = try String(contentsOfFile: certificatePath, encoding: .utf8)
        try await LoaderRig.with({ $0.jwtPublicKeyPEM = certificate }) { rig in
            let key = try String(contentsOfFile: keyPath, encoding: .utf8)
            let session = try SalesforceSession(loginURL: rig.base, credentials: .jwtBearer(
                clientID: "billsync-sandbox", username: "integration@billsync.example", privateKeyPEM: key))
            let client = SalesforceClient(session: session, budget: APIBudget())
            let outcomes = try await client.upsertCollection(object: "Account", externalIdField: "Billing_Customer_Id__c",
                                                             records: [LoaderRig.account(5_000_000)])
            #expect(outcomes.map(\.success) == [true])
            #expect(await session.logins == 1)

            let (otherKey, _) = try await TestRepository.makeCertificate()
            let wrong = try SalesforceSession(loginURL: rig.base, credentials: .jwtBearer(
                clientID: "billsync-sandbox", username: "integration@billsync.example",
                privateKeyPEM: try String(contentsOfFile: otherKey, encoding: .utf8)))
            await #expect(throws: BillsyncSalesforce.SalesforceError.self) { _ = try await wrong.current() }
        }
    }
}
