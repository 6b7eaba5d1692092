import BillsyncKafka
import BillsyncRuntime
import BillsyncTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// A retry that is not due yet is held back on its partition until the worker's clock reaches
/// its due time. The clock here is a manual one: no test waits for a retry tier in real time.
@Suite("Retries wait for their due time without blocking, losing or repeating work", .serialized)
struct RetryDeferralTests {
    static let start = Date(timeIntervalSince1970: 1_900_000_000)

    @Test("a retry is handled only once the worker's clock reaches its due time")
    func retryWaitsForTheClock() async throws {
        let harness = try await RuntimeHarness.make(partitions: 1)
        let manual = ManualClock()
        let clock = WallClock(manual, startingAt: Self.start)
        let handler = ScriptedHandler(output: harness.output) { _, _ in nil }
        try await harness.seedRetries([7], dueAt: Self.start.addingTimeInterval(300))
        _ = try await harness.seedAccounts(0..<1)
        try await harness.run(handler, configuration: harness.configuration(), clock: clock) { (runtime: StageRuntime<ScriptedHandler>) async throws in
            // The fresh input went through while the retry waits on its partition.
            #expect(try await harness.read(harness.output, count: 1).count == 1)
            #expect(await eventually { runtime.waitingRetryPartitions.count == 1 })
            #expect(handler.attempts(of: "0000000007") == 0)
            manual.advance(by: .seconds(299))
            manual.advance(by: .seconds(1))
            #expect(try await harness.read(harness.output, count: 2).count == 2)
            #expect(runtime.waitingRetryPartitions.isEmpty)
        }
        #expect(handler.attempts(of: "0000000007") == 1)
        #expect(try await harness.readToEnd(harness.output).count == 2)
    }

    @Test("a worker stopping while a retry waits stops without waiting for it and without reporting it outstanding")
    func stopWhileRetryWaits() async throws {
        let harness = try await RuntimeHarness.make(partitions: 1)
        let clock = WallClock(ManualClock(), startingAt: Self.start)
        let logs = CapturedLogs()
        let handler = ScriptedHandler(output: harness.output) { _, _ in nil }
        try await harness.seedRetries(0..<3, dueAt: Self.start.addingTimeInterval(3_600))
        _ = try await harness.seedAccounts(10..<11)
        let stopping = Stopwatch()
        try await harness.run(handler, configuration: harness.configuration(), clock: clock, logger: logs.logger()) { (runtime: StageRuntime<ScriptedHandler>) async throws in
            #expect(try await harness.read(harness.output, count: 1).count == 1)
            #expect(await eventually { runtime.waitingRetryPartitions.count == 1 })
            stopping.start()
        }
        // The consumer waits up to its drain timeout (5 s in tests) for messages handed out
        // and not done; held-back retries are not such messages.
        #expect(stopping.elapsed < .seconds(4))
        let warnings = logs.entries(atLeast: .warning).map(\.message)
        #expect(warnings.isEmpty, "\(warnings)")
        #expect((0..<3).allSatisfy { handler.attempts(of: String(format: "%010d", $0)) == 0 })
    }

    @Test("retries waiting when a second member joins the group are each handled once when due")
    func secondMemberJoins() async throws {
        let harness = try await RuntimeHarness.make(partitions: 2)
        let manual = ManualClock()
        let clock = WallClock(manual, startingAt: Self.start)
        let handler = ScriptedHandler(output: harness.output) { _, _ in nil }
        let configuration = harness.configuration()
        try await harness.seedRetries(0..<8, dueAt: Self.start.addingTimeInterval(60))
        let seeded = try await TestKafka.readToEnd(harness.retryTopics[0], partitions: 2)
        let partitionsWithRetries = Set(seeded.map(\.partition))
        try await harness.run(handler, configuration: configuration, clock: clock) { (first: StageRuntime<ScriptedHandler>) async throws in
            #expect(await eventually { first.waitingRetryPartitions.count == partitionsWithRetries.count })
            try await harness.run(handler, configuration: configuration, clock: clock) { (second: StageRuntime<ScriptedHandler>) async throws in
                // The group settles with each waiting partition held back by its owner.
                #expect(await eventually {
                    let held = first.waitingRetryPartitions.union(second.waitingRetryPartitions)
                    return second.hasJoinedGroup && Set(held.map(\.partition)) == partitionsWithRetries
                        && first.waitingRetryPartitions.isDisjoint(with: second.waitingRetryPartitions)
                })
                manual.advance(by: .seconds(60))
                #expect(try await harness.read(harness.output, count: 8).count == 8)
            }
        }
        #expect((0..<8).allSatisfy { handler.attempts(of: String(format: "%010d", $0)) == 1 })
        #expect(try await harness.readToEnd(harness.output).count == 8)
    }

    @Test("retries handled before one that waits are committed, so a restart handles nothing twice")
    func restartInTheDeferralWindow() async throws {
        let harness = try await RuntimeHarness.make(partitions: 1)
        let manual = ManualClock()
        let clock = WallClock(manual, startingAt: Self.start)
        let handler = ScriptedHandler(output: harness.output) { _, _ in nil }
        let configuration = harness.configuration()
        try await harness.seedRetries(0..<3, dueAt: Self.start.addingTimeInterval(-60))
        try await harness.seedRetries(3..<4, dueAt: Self.start.addingTimeInterval(600))
        try await harness.run(handler, configuration: configuration, clock: clock) { (runtime: StageRuntime<ScriptedHandler>) async throws in
            #expect(try await harness.read(harness.output, count: 3).count == 3)
            #expect(await eventually { runtime.waitingRetryPartitions.count == 1 })
        }
        try await harness.run(handler, configuration: configuration, clock: clock) { (runtime: StageRuntime<ScriptedHandler>) async throws in
            #expect(await eventually { runtime.waitingRetryPartitions.count == 1 })
            manual.advance(by: .seconds(600))
            #expect(try await harness.read(harness.output, count: 4).count == 4)
        }
        #expect((0..<4).allSatisfy { handler.attempts(of: String(format: "%010d", $0)) == 1 })
        #expect(try await harness.readToEnd(harness.output).count == 4)
    }
}

/// Measures one interval that a test bounds from above (it never waits for it).
final class Stopwatch: Sendable {
    private let started = Mutex<ContinuousClock.Instant?>(nil)
    func start() { started.withLock { $0 = .now } }
    var elapsed: Duration { started.withLock { $0.map { .now - $0 } ?? .zero } }
}
