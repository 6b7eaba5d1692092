import BillsyncSandbox
import Foundation
import Testing

@Suite("Bulk API 2.0 jobs, describe and the remaining limits of the Salesforce emulator", .serialized)
struct SalesforceBulkAndDescribeTests {
    let jobs = "/services/data/v61.0/jobs/ingest"

    func csvRequest(_ sf: RunningEmulator, _ path: String, token: String, csv: String) async throws -> RunningEmulator.Reply {
        try await sf.request("PUT", path, token: token, csv: csv)
    }

    @Test("a job's rows are upserted with their outcomes: created, updated, failed with sf__Error, #N/A empties a field")
    func bulkLifecycle() async throws {
        try await RunningEmulator.with { sf in
            let token = try await sf.token()
            _ = try await sf.request("PATCH", "/services/data/v61.0/sobjects/Account/Billing_Customer_Id__c/0000000003", token: token,
                                     json: ["Name": "Three", "Industry": "Mining"])
            let created = try await sf.request("POST", jobs, token: token, json: [
                "object": "Account", "operation": "upsert", "externalIdFieldName": "Billing_Customer_Id__c",
                "contentType": "CSV", "lineEnding": "LF", "columnDelimiter": "COMMA",
            ])
            let job = try #require(created.json as? [String: Any])
            #expect(job["state"] as? String == "Open")
            let id = try #require(job["id"] as? String)
            #expect(try await csvRequest(sf, "\(jobs)/\(id)/batches", token: token,
                                         csv: "Billing_Customer_Id__c,Name,Industry\n0000000001,One,\n0000000002,,Retail\n0000000003,,#N/A\n").status == 201)
            let closed = try await sf.request("PATCH", "\(jobs)/\(id)", token: token, json: ["state": "UploadComplete"])
            #expect((closed.json as? [String: Any])?["state"] as? String == "UploadComplete")
            await sf.emulator.bulkJobEnded(id)
            let done = try #require(try await sf.request("GET", "\(jobs)/\(id)", token: token).json as? [String: Any])
            #expect(done["state"] as? String == "JobComplete")
            #expect(done["numberRecordsProcessed"] as? Int == 3)
            #expect(done["numberRecordsFailed"] as? Int == 1)
            let successful = try await sf.request("GET", "\(jobs)/\(id)/successfulResults/", token: token).text
            #expect(successful.hasPrefix("\"sf__Id\",\"sf__Created\",\"Billing_Customer_Id__c\",\"Name\",\"Industry\"\n"))
            #expect(successful.contains("\"true\",\"0000000001\"") && successful.contains("\"false\",\"0000000003\""))
            let failed = try await sf.request("GET", "\(jobs)/\(id)/failedResults/", token: token).text
            #expect(failed.contains("\"REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --\",\"0000000002\""))
            #expect(try await sf.request("GET", "\(jobs)/\(id)/unprocessedRecords/", token: token).status == 200)
            // #N/A emptied Industry on the existing record.
            let three = try #require(try sf.store.record(object: "Account", externalField: "Billing_Customer_Id__c", value: "0000000003"))
            #expect(three.fields["Industry"] == .null)
            #expect(three.fields["Name"] == .text("Three"))
        }
    }

    @Test("describe lists the configured fields with type, length and external id")
    func describe() async throws {
        try await RunningEmulator.with { sf in
            let reply = try await sf.request("GET", "/services/data/v61.0/sobjects/Account/describe", token: try await sf.token())
            let fields = try #require((reply.json as? [String: Any])?["fields"] as? [[String: Any]])
            let amount = try #require(fields.first { $0["name"] as? String == "Amount_Due__c" })
            #expect(amount["type"] as? String == "currency")
            #expect(amount["custom"] as? Bool == true)
            let customer = try #require(fields.first { $0["name"] as? String == "Billing_Customer_Id__c" })
            #expect(customer["externalId"] as? Bool == true && customer["length"] as? Int == 20)
            #expect(try await sf.request("GET", "/services/data/v61.0/sobjects/Nope__c/describe", token: try await sf.token()).status == 404)
        }
    }

    @Test("a unique field taken by another record is DUPLICATE_VALUE; an Id in an upsert body is MALFORMED_ID")
    func duplicateAndMalformed() async throws {
        try await RunningEmulator.with { sf in
            let token = try await sf.token()
            _ = try await sf.request("PATCH", "/services/data/v61.0/sobjects/Account/Billing_Customer_Id__c/0000000001", token: token, json: ["Name": "One"])
            let clash = try await sf.request("PATCH", "/services/data/v61.0/sobjects/Account/Billing_Account_Id__c/ACC-2", token: token,
                                             json: ["Name": "Two", "Billing_Customer_Id__c": "0000000001"])
            #expect(clash.status == 400)
            #expect((clash.json as? [[String: Any]])?.first?["errorCode"] as? String == "DUPLICATE_VALUE")
            let malformed = try await sf.request("PATCH", "/services/data/v61.0/sobjects/Account/Billing_Customer_Id__c/0000000009", token: token,
                                                 json: ["Id": "001xyz", "Name": "Nine"])
            #expect((malformed.json as? [[String: Any]])?.first?["errorCode"] as? String == "MALFORMED_ID")
        }
    }

}
