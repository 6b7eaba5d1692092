import BillsyncAlerter
import BillsyncRuntime
import BillsyncTestSupport
import Foundation
import Logging
import MetricsTestKit
import Testing

/// `ChannelDelivery` against a real receiver that fails on purpose, its waits on a manual
/// clock: retries are counted on the receiver's side and take no real time.
@Suite("Failed deliveries are retried with backoff, counted, and logged without secrets", .timeLimit(.minutes(1)))
struct RetryingChannelTests {
    let clock = ManualClock()
    let metrics = TestMetrics()
    let logs = CapturedLogs()

    func delivery(maximumAttempts: Int = 5) -> ChannelDelivery {
        ChannelDelivery(maximumAttempts: maximumAttempts, clock: WallClock(clock, startingAt: SampleNotification.lastSeen),
                        logger: logs.logger(), metrics: metrics)
    }

    /// Returns `outcome` once the delivery ended, after starting a few sleeps that end at once:
    /// a test waiting for a sleep the delivery never took (it ended too early) goes on and
    /// fails on what it checks next, instead of waiting forever.
    func ended(_ outcome: DeliveryOutcome) async -> DeliveryOutcome {
        await clock.releaseSleepWaiters()
        return outcome
    }

    func deliveries(_ outcome: String, channel: String = "webhook") -> Int64 {
        metrics.counterTotal(label: "billsync_alert_deliveries_total", dimensions: [("channel", channel), ("outcome", outcome)])
    }

    @Test("A receiver answering 500 twice then 202 has the notification on the third attempt, after waits of 1 s and 2 s")
    func retriedUntilDelivered() async throws {
        let receiver = LocalReceiver(answering: [.status(500), .status(500)], thenAnswering: .status(202))
        let outcome = try await receiver.serving { base in
            async let outcome = ended(await delivery().deliver(SampleNotification.make(), to: WebhookChannel(url: base)))
            await clock.waitForSleeps(1)
            #expect(receiver.count == 1)
            clock.advance(by: .seconds(1))
            await clock.waitForSleeps(2)
            #expect(receiver.count == 2)
            clock.advance(by: .seconds(2))
            return await outcome
        }
        #expect(outcome == .delivered(attempts: 3))
        #expect(receiver.count == 3)
        #expect(clock.now.offset == .seconds(3), "waited 1 s, then 2 s")
        #expect(deliveries("retried") == 2)
        #expect(deliveries("delivered") == 1)
        #expect(deliveries("failed") == 0)
        #expect(logs.entries(atLeast: .warning).count == 2)
    }

    @Test("A 429 with Retry-After: 7 makes the delivery wait 7 s on the clock, not the 1 s backoff")
    func retryAfterIsHonoured() async throws {
        let receiver = LocalReceiver(answering: [.status(429, retryAfter: 7)], thenAnswering: .status(200))
        // The wait is on the manual clock (asleep at 6.9 s, awake at 7 s): nothing here depends on
        // how long it takes in real time, which a loaded machine stretches.
        let outcome = try await receiver.serving { base in
            async let outcome = ended(await delivery().deliver(SampleNotification.make(), to: SlackChannel(webhookURL: base)))
            await clock.waitForSleeps(1)
            clock.advance(by: .milliseconds(6_900))
            // Still asleep at 6.9 s: its deadline is later than the backoff's 1 s.
            #expect(clock.sleeping == 1)
            #expect(receiver.count == 1)
            clock.advance(by: .milliseconds(100))
            return await outcome
        }
        #expect(outcome == .delivered(attempts: 2))
        #expect(receiver.count == 2)
        #expect(deliveries("retried", channel: "slack") == 1)
    }

    @Test("A receiver that always answers 500 ends as failed after the attempt limit, and the failure is counted")
    func givesUpAfterTheLimit() async throws {
        let receiver = LocalReceiver(thenAnswering: .status(500))
        let outcome = try await receiver.serving { base in
            async let outcome = ended(await delivery(maximumAttempts: 3).deliver(SampleNotification.make(), to: WebhookChannel(url: base)))
            await clock.waitForSleeps(1)
            clock.advance(by: .seconds(1))
            await clock.waitForSleeps(2)
            clock.advance(by: .seconds(2))
            return await outcome
        }
        guard case let .failed(reason, attempts) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(attempts == 3)
        #expect(reason.contains("HTTP 500"))
        #expect(receiver.count == 3)
        #expect(deliveries("failed") == 1)
        #expect(deliveries("retried") == 2)
        #expect(logs.entries(atLeast: .error).count == 1)
    }

    @Test("A 400 is not retried: one request, failed at once")
    func clientErrorIsNotRetried() async throws {
        let receiver = LocalReceiver(thenAnswering: .status(400))
        let outcome = try await receiver.serving { base in
            await delivery().deliver(SampleNotification.make(), to: WebhookChannel(url: base))
        }
        #expect(outcome == .refused(reason: "answered HTTP 400"))
        #expect(receiver.count == 1)
        #expect(clock.sleepsStarted == 0)
        #expect(deliveries("failed") == 1)
    }

    @Test("Cancelling a delivery that waits to retry ends it at once, as failed but not counted as a channel failure")
    func cancellationStopsWaiting() async throws {
        let receiver = LocalReceiver(thenAnswering: .status(503))
        let outcome = try await receiver.serving { base in
            let task = Task { await ended(await delivery().deliver(SampleNotification.make(), to: WebhookChannel(url: base))) }
            await clock.waitForSleeps(1)
            task.cancel()
            return await task.value
        }
        guard case let .failed(reason, attempts) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(attempts == 1 && reason.hasPrefix("cancelled"))
        #expect(receiver.count == 1)
        #expect(deliveries("failed") == 0)
    }

    @Test("A webhook URL and a routing key never appear in a failure's reason or a log line, even when the receiver echoes them")
    func secretsStayOut() async throws {
        let marker = "S3CRET-\(UUID().uuidString)"
        let receiver = LocalReceiver(thenAnswering: .echoing(400))
        let outcomes = try await receiver.serving { base in
            [
                await delivery().deliver(SampleNotification.make(),
                                         to: WebhookChannel(url: base.appendingPathComponent("hooks/T000/\(marker)"))),
                await delivery().deliver(SampleNotification.make(),
                                         to: SlackChannel(webhookURL: base.appendingPathComponent("services/T0/B0/\(marker)"))),
                await delivery().deliver(SampleNotification.make(),
                                         to: PagerDutyChannel(routingKey: marker, eventsURL: base, source: "billsync")),
            ]
        }
        // The receiver did get the secrets (so they were there to leak) ...
        #expect(receiver.requests.allSatisfy { ($0.path + String(decoding: $0.body, as: UTF8.self)).contains(marker) })
        // ... and echoed them, but nothing passed them on.
        let reasons = outcomes.compactMap { outcome -> String? in
            switch outcome {
            case let .failed(reason, _), let .refused(reason): return reason
            case .delivered: return nil
            }
        }
        #expect(reasons.count == 3)
        #expect(reasons.prefix(2).allSatisfy { $0.contains("[redacted]") }, "the echoed path was there, redacted")
        #expect(reasons.allSatisfy { $0.hasPrefix("answered HTTP 400") && !$0.contains(marker) })
        #expect(!logs.entries.isEmpty)
        #expect(logs.entries.allSatisfy { entry in !(entry.message + "\(entry.metadata)").contains(marker) })
    }

    @Test("A receiver that refuses the connection is a retryable failure whose reason does not name the URL")
    func refusedConnection() async throws {
        let marker = "S3CRET-\(UUID().uuidString)"
        let url = URL(string: "http://127.0.0.1:\(TestRepository.freePort())/hooks/\(marker)")!
        let failure = await #expect(throws: ChannelFailure.self) {
            try await WebhookChannel(url: url).deliver(SampleNotification.make())
        }
        #expect(failure?.retryable == true)
        #expect(failure.map { !$0.reason.contains(marker) && !$0.reason.contains("127.0.0.1") } == true)
    }
}

extension ManualClock {
    /// Starts sleeps that end at once, enough to release any `waitForSleeps` of a test.
    func releaseSleepWaiters() async {
        for _ in 0..<8 { try? await sleep(until: now) }
    }
}
