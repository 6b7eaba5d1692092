import BillsyncSandbox
import Foundation
import Testing

/// A Bulk API 2.0 ingest job driven over HTTP, as a client drives one.
struct BulkJobDriver {
    let sf: RunningEmulator
    let token: String
    let jobs = "/services/data/v61.0/jobs/ingest"

    static func with(_ configure: (inout SalesforceEmulatorConfiguration) -> Void = { _ in },
                     _ body: @Sendable (BulkJobDriver) async throws -> Void) async throws {
        try await RunningEmulator.with(configure) { sf in try await body(BulkJobDriver(sf: sf, token: try await sf.token())) }
    }

    func create() async throws -> String {
        let created = try await sf.request("POST", jobs, token: token, json: [
            "object": "Account", "operation": "upsert", "externalIdFieldName": "Billing_Customer_Id__c", "contentType": "CSV", "lineEnding": "LF",
        ])
        return try #require((created.json as? [String: Any])?["id"] as? String)
    }

    func upload(_ id: String, _ csv: String) async throws -> RunningEmulator.Reply {
        try await sf.request("PUT", "\(jobs)/\(id)/batches", token: token, csv: csv)
    }

    func setState(_ id: String, _ state: String) async throws -> RunningEmulator.Reply {
        try await sf.request("PATCH", "\(jobs)/\(id)", token: token, json: ["state": state])
    }

    func poll(_ id: String) async throws -> [String: Any] {
        try #require(try await sf.request("GET", "\(jobs)/\(id)", token: token).json as? [String: Any])
    }

    /// Waits until the emulator has ended the job (it processes closed jobs in the background),
    /// then polls it once: its state as a client then sees it.
    func stateOnceEnded(_ id: String) async throws -> String {
        await sf.emulator.bulkJobEnded(id)
        return try await poll(id)["state"] as? String ?? "?"
    }

    func results(_ id: String, _ kind: String) async throws -> RunningEmulator.Reply {
        try await sf.request("GET", "\(jobs)/\(id)/\(kind)", token: token)
    }

    static func errorCode(_ reply: RunningEmulator.Reply) -> String? {
        (reply.json as? [[String: Any]])?.first?["errorCode"] as? String
    }
}

@Suite("Bulk API 2.0 jobs follow the documented state machine", .serialized)
struct SalesforceBulkJobStateTests {
    let csv = "Billing_Customer_Id__c,Name\n0000000001,One\n0000000002,Two\n"

    @Test("a closed job waits its turn as UploadComplete, is processed in the background while status polls answer at once, and serves results only once it has ended")
    func statesOverPolls() async throws {
        try await BulkJobDriver.with { bulk in
            let id = try await bulk.create()
            let open = try await bulk.poll(id)
            #expect(open["state"] as? String == "Open" && open["contentUrl"] != nil)
            #expect(BulkJobDriver.errorCode(try await bulk.results(id, "successfulResults")) == "INVALIDJOBSTATE")
            #expect(try await bulk.upload(id, csv).status == 201)
            bulk.sf.emulator.holdBulkProcessing()
            #expect((try await bulk.setState(id, "UploadComplete").json as? [String: Any])?["state"] as? String == "UploadComplete")
            let queued = try await bulk.poll(id)
            #expect(queued["state"] as? String == "UploadComplete" && queued["numberRecordsProcessed"] as? Int == 0)
            #expect(BulkJobDriver.errorCode(try await bulk.results(id, "failedResults")) == "INVALIDJOBSTATE")
            #expect(BulkJobDriver.errorCode(try await bulk.results(id, "unprocessedrecords")) == "INVALIDJOBSTATE")
            #expect(try bulk.sf.store.count(object: "Account") == 0)
            bulk.sf.emulator.releaseBulkProcessing()
            #expect(try await bulk.stateOnceEnded(id) == "JobComplete")
            #expect(try await bulk.poll(id)["numberRecordsProcessed"] as? Int == 2)
            #expect(try await bulk.results(id, "successfulResults").text.contains("\"0000000002\""))
            #expect(try await bulk.results(id, "unprocessedrecords").text == "\"Billing_Customer_Id__c\",\"Name\"\n")
            #expect(try bulk.sf.store.count(object: "Account") == 2)
        }
    }

    @Test("a job larger than one internal batch of 10,000 records is processed whole, each record once")
    func internalBatches() async throws {
        try await BulkJobDriver.with { bulk in
            let id = try await bulk.create()
            let rows = (1...10_050).map { "\(1_000_000_000 + $0),N\($0)\n" }.joined()
            #expect(try await bulk.upload(id, "Billing_Customer_Id__c,Name\n" + rows).status == 201)
            #expect(try await bulk.setState(id, "UploadComplete").status == 200)
            #expect(try await bulk.stateOnceEnded(id) == "JobComplete")
            #expect(try await bulk.poll(id)["numberRecordsProcessed"] as? Int == 10_050)
            let creates = try bulk.sf.store.creates(object: "Account")
            #expect(creates.creates == 10_050 && creates.externalIds == 10_050)
        }
    }

    @Test("one upload per job: a second upload or one after UploadComplete is refused; a job that ended cannot be closed or aborted again, so it is never processed twice")
    func oneUploadAndNoReprocessing() async throws {
        try await BulkJobDriver.with { bulk in
            let id = try await bulk.create()
            #expect(try await bulk.upload(id, csv).status == 201)
            let again = try await bulk.upload(id, "Billing_Customer_Id__c,Name\n0000000003,Three\n")
            #expect(again.status == 400 && BulkJobDriver.errorCode(again) == "BULK_API_ERROR")
            #expect(again.text.contains("only do 'PUT' once"))
            #expect(try await bulk.setState(id, "UploadComplete").status == 200)
            let late = try await bulk.upload(id, csv)
            #expect(late.status == 400 && BulkJobDriver.errorCode(late) == "INVALIDJOBSTATE")
            let closedTwice = try await bulk.setState(id, "UploadComplete")
            #expect(closedTwice.status == 400 && BulkJobDriver.errorCode(closedTwice) == "INVALIDJOBSTATE")
            #expect(try await bulk.stateOnceEnded(id) == "JobComplete")
            for state in ["UploadComplete", "Aborted", "JobComplete"] {
                let refused = try await bulk.setState(id, state)
                #expect(refused.status == 400 && BulkJobDriver.errorCode(refused) == "INVALIDJOBSTATE", "\(state)")
            }
            #expect(try await bulk.poll(id)["state"] as? String == "JobComplete")
            // Two records, each created once: the third row of the refused upload never arrived.
            #expect(try bulk.sf.store.count(object: "Account") == 2)
            #expect(try bulk.sf.store.creates(object: "Account").creates == 2)
        }
    }

    @Test("an aborted job is not processed: it stays Aborted and every uploaded row is unprocessed")
    func aborted() async throws {
        try await BulkJobDriver.with { bulk in
            let id = try await bulk.create()
            #expect(try await bulk.upload(id, csv).status == 201)
            bulk.sf.emulator.holdBulkProcessing()
            #expect(try await bulk.setState(id, "UploadComplete").status == 200)
            _ = try await bulk.poll(id)
            #expect((try await bulk.setState(id, "Aborted").json as? [String: Any])?["state"] as? String == "Aborted")
            bulk.sf.emulator.releaseBulkProcessing()
            #expect(try await bulk.stateOnceEnded(id) == "Aborted")
            let unprocessed = try await bulk.results(id, "unprocessedrecords").text
            #expect(unprocessed == "\"Billing_Customer_Id__c\",\"Name\"\n\"0000000001\",\"One\"\n\"0000000002\",\"Two\"\n")
            #expect(try await bulk.results(id, "successfulResults").status == 200)
            #expect(try bulk.sf.store.count(object: "Account") == 0)
        }
    }

    @Test("a job fails, with its errorMessage and nothing processed, for data it cannot read or a column that is not a field of the object")
    func failsForItsData() async throws {
        try await BulkJobDriver.with { bulk in
            let cases = [
                ("Billing_Customer_Id__c,Name\n0000000001,One,extra\n", "Wrong number of columns"),
                ("Billing_Customer_Id__c,Name,Colour__c\n0000000001,One,red\n", "InvalidBatch : Field name not found : Colour__c"),
            ]
            for (data, reason) in cases {
                let id = try await bulk.create()
                #expect(try await bulk.upload(id, data).status == 201)
                #expect(try await bulk.setState(id, "UploadComplete").status == 200)
                #expect(try await bulk.stateOnceEnded(id) == "Failed")
                let failed = try await bulk.poll(id)
                #expect((failed["errorMessage"] as? String)?.contains(reason) == true, "\(failed)")
                #expect(failed["numberRecordsProcessed"] as? Int == 0)
                #expect(try await bulk.results(id, "unprocessedrecords").text.contains("\"0000000001\""))
            }
            #expect(try bulk.sf.store.count(object: "Account") == 0)
        }
    }

    @Test("past the Bulk API's rolling daily record allowance a job processes what fits and fails; a day later on the emulator's clock, the rest goes through")
    func dailyRecordAllowance() async throws {
        let time = EmulatorTime()
        // The session outlives the day the test moves (its lifetime runs on the same clock).
        try await BulkJobDriver.with({ $0.bulkRecordsPerDay = 3; $0.clock = { time.now }; $0.tokenLifetime = .seconds(3 * 86_400) }) { bulk in
            let id = try await bulk.create()
            #expect(try await bulk.upload(id, "Billing_Customer_Id__c,Name\n" + (1...5).map { "000000000\($0),N\($0)\n" }.joined()).status == 201)
            #expect(try await bulk.setState(id, "UploadComplete").status == 200)
            #expect(try await bulk.stateOnceEnded(id) == "Failed")
            let failed = try await bulk.poll(id)
            #expect(failed["numberRecordsProcessed"] as? Int == 3)
            #expect((failed["errorMessage"] as? String)?.hasPrefix("ExceededQuota") == true)
            let unprocessed = try await bulk.results(id, "unprocessedrecords").text.split(separator: "\n")
            #expect(unprocessed.count == 3)  // the header and two rows
            #expect(try bulk.sf.store.count(object: "Account") == 3)

            time.advance(by: 86_400 + 1)
            let next = try await bulk.create()
            #expect(try await bulk.upload(next, "Billing_Customer_Id__c,Name\n0000000004,N4\n0000000005,N5\n").status == 201)
            #expect(try await bulk.setState(next, "UploadComplete").status == 200)
            #expect(try await bulk.stateOnceEnded(next) == "JobComplete")
            #expect(try bulk.sf.store.count(object: "Account") == 5)
        }
    }
}
