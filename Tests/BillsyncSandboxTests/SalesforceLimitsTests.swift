import BillsyncSandbox
import BillsyncTestSupport
import Foundation
import Testing

@Suite("The emulator answers the concurrent and the daily API limits each as Salesforce documents it, and counts calls on its side", .serialized)
struct SalesforceLimitsTests {
    let limits = "/services/data/v61.0/limits"

    @Test("the daily allocation counts the requests of the last 24 hours on the emulator's clock: past it every call is TotalRequests Limit exceeded until the day rolls on")
    func dailyAllocationRolls() async throws {
        let time = EmulatorTime()
        // The session outlives the day the test moves (its lifetime runs on the same clock).
        try await RunningEmulator.with({ $0.dailyAPILimit = 2; $0.clock = { time.now }; $0.tokenLifetime = .seconds(3 * 86_400) }) { sf in
            let token = try await sf.token()
            #expect(try await sf.request("GET", limits, token: token).status == 200)
            time.advance(by: 3_600)
            #expect(try await sf.request("GET", limits, token: token).status == 200)
            let refused = try await sf.request("GET", limits, token: token)
            #expect(refused.status == 403)
            #expect(refused.text == #"[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"TotalRequests Limit exceeded."}]"#)
            #expect(refused.headers["sforce-limit-info"] == "api-usage=2/2")
            // 24 hours after the first call it falls out of the window, the second not yet.
            time.advance(by: 82_800 + 1)
            #expect(try await sf.request("GET", limits, token: token).status == 200)
            #expect(try await sf.request("GET", limits, token: token).status == 403)
            #expect(sf.emulator.calls.refusedForDailyLimit == 2)
        }
    }

    @Test("when the concurrent long-running requests fill the cap a new request is refused with ConcurrentRequests Limit exceeded, not counted against the day, and served once they end")
    func concurrentCap() async throws {
        try await RunningEmulator.with({ $0.concurrentRequestLimit = 2 }) { sf in
            let token = try await sf.token()
            sf.emulator.setForeignLongRunningRequests(2)
            let refused = try await sf.request("GET", limits, token: token)
            #expect(refused.status == 403)
            #expect(refused.text == #"[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"ConcurrentRequests (Concurrent API Requests) Limit exceeded."}]"#)
            #expect(refused.headers["sforce-limit-info"] == nil)
            #expect(sf.emulator.apiUsage.used == 0)
            sf.emulator.setForeignLongRunningRequests(1)
            #expect(try await sf.request("GET", limits, token: token).status == 200)
            #expect(sf.emulator.calls.refusedForConcurrency == 1)
        }
    }

    @Test("only requests running longer than the threshold count toward the cap: many short ones at once are all served, slow ones beyond the cap are refused")
    func onlyLongRunningRequestsCount() async throws {
        @Sendable func statuses(_ sf: RunningEmulator, _ count: Int) async throws -> [Int] {
            let token = try await sf.token()
            return try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<count { group.addTask { try await sf.request("GET", "/services/data/v61.0/limits", token: token).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        // Salesforce's threshold is 20 s: requests of 300 ms are never limited.
        try await RunningEmulator.with({ $0.concurrentRequestLimit = 2; $0.addedLatency = .milliseconds(300) }) { sf in
            let seen = try await statuses(sf, 5)
            #expect(seen == [200, 200, 200, 200, 200])
        }
        // With a threshold of zero every request in flight is long-running.
        try await RunningEmulator.with({ $0.concurrentRequestLimit = 2; $0.longRunningThreshold = .zero; $0.addedLatency = .milliseconds(300) }) { sf in
            let seen = try await statuses(sf, 5)
            #expect(seen.filter { $0 == 200 }.count == 2 && seen.filter { $0 == 403 }.count == 3)
        }
    }

    @Test("API calls are counted per client and endpoint kind at /sandbox/salesforce/calls; logins and read-backs are not calls")
    func callsPerClientAndKind() async throws {
        try await RunningEmulator.with { sf in
            let token = try await sf.token()
            _ = try await sf.request("GET", limits, token: token)
            _ = try await sf.request("PATCH", "/services/data/v61.0/sobjects/Account/Billing_Customer_Id__c/0000000001", token: token, json: ["Name": "One"])
            _ = try await sf.request("PATCH", "/services/data/v61.0/composite/sobjects/Account/Billing_Customer_Id__c", token: token, json: [
                "records": [["attributes": ["type": "Account"], "Billing_Customer_Id__c": "0000000002", "Name": "Two"]],
            ])
            _ = try await sf.request("GET", "/sandbox/salesforce/Account/count")
            let counted = try await sf.request("GET", "/sandbox/salesforce/calls")
            let calls = try JSONDecoder().decode(SalesforceCallCounts.self, from: counted.body)
            #expect(calls.clients == ["billsync-sandbox": ["limits": 1, "upsert": 1, "collections": 1]])
            #expect(calls.total == 3 && calls == sf.emulator.calls)
            #expect(calls.calls(client: "billsync-sandbox", kind: .collections) == 1)
            let creates = try #require(try await sf.request("GET", "/sandbox/salesforce/Account/duplicate-creates").json as? [String: Int])
            #expect(creates == ["creates": 2, "externalIds": 2, "duplicateCreates": 0])
        }
    }
}
