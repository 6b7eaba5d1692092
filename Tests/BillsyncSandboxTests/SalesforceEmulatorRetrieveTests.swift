import BillsyncSandbox
import BillsyncTestSupport
import Foundation
import Testing

@Suite("The Salesforce emulator reads a record by external id as the REST API does", .serialized)
struct SalesforceEmulatorRetrieveTests {
    @Test("GET by external id answers the record with attributes, Id, system fields and every field, empty ones null, counted against the limit")
    func recordFound() async throws {
        try await RunningEmulator.with { emulator in
            let token = try await emulator.token()
            let upsert = try await emulator.request("PATCH", "/services/data/v61.0/sobjects/Account/Billing_Customer_Id__c/0001234567", token: token,
                                                    json: ["Name": "Ada", "Amount_Due__c": 12.5])
            #expect(upsert.status == 201)
            let id = try #require((upsert.json as? [String: Any])?["id"] as? String)

            let reply = try await emulator.request("GET", "/services/data/v61.0/sobjects/Account/Billing_Customer_Id__c/0001234567", token: token)
            #expect(reply.status == 200)
            #expect(reply.headers["sforce-limit-info"] == "api-usage=2/100000")
            let record = try #require(reply.json as? [String: Any])
            let attributes = try #require(record["attributes"] as? [String: Any])
            #expect(attributes["type"] as? String == "Account")
            #expect(attributes["url"] as? String == "/services/data/v61.0/sobjects/Account/\(id)")
            #expect(record["Id"] as? String == id)
            #expect(record["IsDeleted"] as? Bool == false)
            #expect((record["CreatedDate"] as? String)?.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$"#, options: .regularExpression) != nil)
            #expect(record["Name"] as? String == "Ada")
            #expect(record["Amount_Due__c"] as? Double == 12.5)
            #expect(record["Billing_Customer_Id__c"] as? String == "0001234567")
            // Every field of the object is there; an empty one is null.
            #expect(record.keys.contains("Phone") && record["Phone"] is NSNull)
        }
    }

    @Test("GET by external id answers 404 NOT_FOUND for no such record, a field that is no external id, or an unknown object")
    func notFound() async throws {
        try await RunningEmulator.with { emulator in
            let token = try await emulator.token()
            for (path, message) in [
                ("/services/data/v61.0/sobjects/Account/Billing_Customer_Id__c/0009999999", "The requested resource does not exist"),
                ("/services/data/v61.0/sobjects/Account/Name/Ada", "Provided external ID field does not exist or is not accessible: Name"),
                ("/services/data/v61.0/sobjects/Nothing__c/Billing_Customer_Id__c/1", "The requested resource does not exist"),
            ] {
                let reply = try await emulator.request("GET", path, token: token)
                #expect(reply.status == 404, "\(path)")
                let errors = reply.json as? [[String: Any]]
                #expect(errors?.first?["errorCode"] as? String == "NOT_FOUND")
                #expect(errors?.first?["message"] as? String == message)
            }
            let unauthenticated = try await emulator.request("GET", "/services/data/v61.0/sobjects/Account/Billing_Customer_Id__c/0009999999")
            #expect(unauthenticated.status == 401)
        }
    }

    @Test("GET by an external id that several records share answers 300 with their URLs; a percent-encoded value is read decoded")
    func severalMatches() async throws {
        try await RunningEmulator.with { emulator in
            for customer in ["0000000001", "0000000002"] {
                _ = try emulator.store.upsert(object: "Account", externalField: "Billing_Customer_Id__c", externalValue: customer,
                                              fields: ["Name": .text("Shared"), "Billing_Account_Id__c": .text("BA/1 x")])
            }
            let token = try await emulator.token()
            let reply = try await emulator.request("GET", "/services/data/v61.0/sobjects/Account/Billing_Account_Id__c/BA%2F1%20x", token: token)
            #expect(reply.status == 300)
            let urls = try #require(reply.json as? [String])
            #expect(urls.count == 2)
            #expect(urls.allSatisfy { $0.hasPrefix("/services/data/v61.0/sobjects/Account/001") })
        }
    }
}
