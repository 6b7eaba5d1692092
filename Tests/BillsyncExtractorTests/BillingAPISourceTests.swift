import BillsyncExtractor
import BillsyncSandbox
import BillsyncTestSupport
import Foundation
import Hummingbird
import Logging
import Testing

@Suite("The billing API source pages through the emulator and waits out its 429s")
struct BillingAPISourceTests {
    func withEmulator<T: Sendable>(accounts: Int, rate: Int, now: (@Sendable () -> Date)? = nil,
                                   _ body: @Sendable (URL) async throws -> T) async throws -> T {
        var configuration = BillingEmulatorConfiguration()
        configuration.requestsPerSecond = rate
        if let now { configuration.now = now }
        return try await withBillingEngine(accounts: accounts, configuration: configuration, body)
    }

    @Test("every account comes exactly once across pages, though the engine allows only 2 requests a second")
    func pagesAndRateLimit() async throws {
        // The source waits out Retry-After on a clock the test advances, and the engine reads the
        // same clock: the third request in a second is refused however fast the machine is, and
        // each wait moves both on by exactly the second asked for.
        let clock = ManualClock()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let now: @Sendable () -> Date = { start.addingTimeInterval(Double(clock.now.offset.components.seconds)) }
        let (ids, waits) = try await withEmulator(accounts: 120, rate: 2, now: now) { base in
            var configured = BillingAPISource(baseURL: base, token: "billing-sandbox-token")
            configured.pageSize = 25
            configured.clock = clock
            let source = configured
            return try await withThrowingTaskGroup(of: ([String], Int)?.self) { group in
                group.addTask {
                    var cursor: String?
                    var ids: [String] = []
                    var waits = 0
                    repeat {
                        let page = try await source.page("accounts", updatedSince: nil, cursor: cursor)
                        ids += page.records.compactMap { $0["customer_id"]?.stringValue }
                        waits += page.rateLimitWaits
                        cursor = page.nextCursor
                    } while cursor != nil
                    return (ids, waits)
                }
                // Each time the source goes to sleep, the second it asked for passes.
                group.addTask {
                    var count = 1
                    while !Task.isCancelled {
                        await clock.waitForSleeps(count)
                        clock.advance(by: .seconds(1))
                        count += 1
                    }
                    return nil
                }
                var result: ([String], Int) = ([], 0)
                for try await outcome in group {
                    if let outcome {
                        result = outcome
                        group.cancelAll()
                    }
                }
                return result
            }
        }
        #expect(ids.count == 120)
        #expect(Set(ids).count == 120)
        // Five pages, two a second: the third and the fifth request wait once each.
        #expect(waits == 2, "the rate limit was hit \(waits) times")
    }

    @Test("updated_since limits the export to later changes, and a wrong token is a clear, permanent error")
    func incrementalAndAuth() async throws {
        try await withEmulator(accounts: 50, rate: 100) { base in
            let source = BillingAPISource(baseURL: base, token: "billing-sandbox-token")
            let page = try await source.page("accounts", updatedSince: "2026-11-01T00:00:40Z", cursor: nil)
            #expect(page.records.count == 10)
            do {
                _ = try await BillingAPISource(baseURL: base, token: "wrong").page("accounts", updatedSince: nil, cursor: nil)
                Issue.record("a wrong token was accepted")
            } catch let error as BillingAPIError {
                #expect(error.status == 401)
                #expect(!error.isTransient)
            }
        }
    }
}
