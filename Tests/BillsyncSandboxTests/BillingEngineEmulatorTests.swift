import BillsyncSandbox
import Foundation
import Testing

@Suite("The billing engine emulator exports pages by cursor and change time, limits its rate, and takes uploads", .serialized)
struct BillingEngineEmulatorTests {
    let auth = ["Authorization": "Bearer billing-sandbox-token"]

    func loadAccounts(_ count: Int, into store: BillingStore) throws {
        _ = try SampleDataGenerator(options: .init(accounts: count)).load(into: store)
    }

    @Test("pages follow the cursor until has_more is false, and every record comes exactly once")
    func paging() async throws {
        try await RunningEmulator.with { sf in
            try loadAccounts(250, into: sf.billingStore)
            var cursor: String?
            var ids: [String] = []
            repeat {
                let query = "page_size=100" + (cursor.map { "&cursor=\($0)" } ?? "")
                let reply = try await sf.request("GET", "/billing/v1/accounts?\(query)", headers: auth)
                #expect(reply.status == 200)
                let page = try #require(reply.json as? [String: Any])
                ids += (page["data"] as? [[String: Any]] ?? []).compactMap { $0["customer_id"] as? String }
                cursor = page["next_cursor"] as? String
                #expect((page["has_more"] as? Bool) == (cursor != nil))
            } while cursor != nil
            #expect(ids.count == 250)
            #expect(Set(ids).count == 250)
            #expect(ids.first == "0000001000")
        }
    }

    @Test("updated_since returns only what changed since then")
    func incremental() async throws {
        try await RunningEmulator.with { sf in
            try loadAccounts(100, into: sf.billingStore)
            // Account n changed n seconds after 2026-11-01T00:00:00Z.
            let reply = try await sf.request("GET", "/billing/v1/accounts?page_size=1000&updated_since=2026-11-01T00:01:30Z", headers: auth)
            let data = try #require((reply.json as? [String: Any])?["data"] as? [[String: Any]])
            #expect(data.count == 10)
            #expect(data.first?["customer_id"] as? String == "0000001090")
        }
    }

    @Test("without the bearer token the API answers 401; too fast, 429 with Retry-After")
    func authAndRate() async throws {
        // The emulator's clock stands still: the eight requests fall in one second however slow
        // the machine is.
        let second = Date(timeIntervalSince1970: 1_800_000_000)
        try await RunningEmulator.with(billing: { $0.requestsPerSecond = 3; $0.now = { second } }) { sf in
            #expect(try await sf.request("GET", "/billing/v1/accounts").status == 401)
            #expect(try await sf.request("GET", "/billing/v1/accounts", headers: ["Authorization": "Bearer wrong"]).status == 401)
            var statuses: [Int] = []
            var retryAfter: String?
            for _ in 0..<8 {
                let reply = try await sf.request("GET", "/billing/v1/accounts", headers: auth)
                statuses.append(reply.status)
                if reply.status == 429 { retryAfter = reply.headers["retry-after"] }
            }
            #expect(statuses.contains(429))
            #expect(retryAfter == "1")
        }
    }

    @Test("uploads are idempotent by key and refuse readings without an NMI or with a negative reading")
    func uploads() async throws {
        try await RunningEmulator.with { sf in
            let readings: [[String: Any]] = [
                ["idempotency_key": "MTR-1|2026-11-15", "nmi": "63050001234", "reading": "123.456"],
                ["idempotency_key": "MTR-2|2026-11-15", "reading": "1"],
                ["idempotency_key": "MTR-3|2026-11-15", "nmi": "63050001234", "reading": "-4.5"],
            ]
            let first = try await sf.request("POST", "/billing/v1/uploads/meter-readings", json: readings, headers: auth)
            let results = try #require((first.json as? [String: Any])?["results"] as? [[String: String]])
            #expect(results.map { $0["status"] } == ["created", "rejected", "rejected"])
            #expect(results[2]["error"]?.contains("negative") == true)
            let again = try await sf.request("POST", "/billing/v1/uploads/meter-readings", json: [readings[0]], headers: auth)
            #expect(((again.json as? [String: Any])?["results"] as? [[String: String]])?.first?["status"] == "unchanged")
            #expect(try sf.billingStore.uploadCount(kind: "meter-readings") == 1)
        }
    }
}
