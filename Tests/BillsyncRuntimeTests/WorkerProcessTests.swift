import BillsyncContracts
import BillsyncKafka
import BillsyncRuntime
import BillsyncTestSupport
import Foundation
import Synchronization
import Testing

@Suite("A worker process loses nothing when it is killed or stopped", .serialized)
struct WorkerProcessTests {
    /// Reads a topic from the beginning in the background for as long as `body` runs.
    func watching<T: Sendable>(_ harness: RuntimeHarness, _ topic: String,
                               _ body: @Sendable (SeenMessages) async throws -> T) async throws -> T {
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for partition in 0..<harness.partitions { offsets[KafkaTopicPartition(topic: topic, partition: partition)] = KafkaOffset.beginning }
        var configuration = KafkaConsumerConfiguration(connection: TestKafka.connection, groupID: TestKafka.uniqueName("watch"),
                                                       subscription: .partitions(offsets))
        configuration.drainTimeout = .milliseconds(100)
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        let seen = SeenMessages()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await consumer.run(); return nil }
            group.addTask {
                for try await message in consumer.messages {
                    seen.add(message)
                    consumer.markDone(message)
                }
                return nil
            }
            let result = try await body(seen)
            consumer.triggerShutdown()
            try await group.waitForAll()
            return result
        }
    }

    @Test("SIGKILL in the middle of 10,000 messages, then a restart: every input comes out, repeats only with the same id")
    func killAndRestart() async throws {
        let harness = try await RuntimeHarness.make(partitions: 2)
        // The first 2,000 are there before the worker starts; the rest arrive in batches while it
        // runs, so the kill lands while input is still coming, however fast the worker is.
        let firstIDs = try await harness.seedAccounts(0..<2_000)
        let group = TestKafka.uniqueName("killed")
        try await watching(harness, harness.output) { seen in
            let first = try WorkerProcess(harness: harness, group: group)
            // The worker's own count decides when to kill: the watcher's group join can lag behind a fast worker.
            func processed() async -> Double { (try? await first.metric("billsync_messages_processed_total")) ?? 0 }
            let caughtUp = await eventually(timeout: .seconds(60), every: .milliseconds(20)) { await processed() >= 2_000 }
            #expect(caughtUp, "the first worker produced \(seen.count) messages; log: \(first.log.suffix(2000))")
            let feeding = Task {
                var fed: [UUID] = []
                for start in stride(from: 2_000, to: 10_000, by: 500) { fed += try await harness.seedAccounts(start..<(start + 500)) }
                return fed
            }
            let started = await eventually(timeout: .seconds(60), every: .milliseconds(20)) { await processed() >= 3_000 }
            #expect(started)
            let processedBeforeKill = await processed()
            first.signal(SIGKILL)
            #expect(await first.waitForExit(timeout: .seconds(10)) != nil)
            let ids = firstIDs + (try await feeding.value)
            let expected = Set(ids.map { UUID(derivedFrom: "\($0.uuidString)|billing-account|0") })
            #expect(expected.count == 10_000)
            let second = try WorkerProcess(harness: harness, group: group)
            let finished = await eventually(timeout: .seconds(120)) { seen.uniqueIDs.count >= expected.count }
            #expect(finished, "\(seen.uniqueIDs.count) of \(expected.count) after the restart; log: \(second.log.suffix(2000))")
            #expect(seen.uniqueIDs == expected)
            #expect(seen.count >= expected.count)
            #expect(processedBeforeKill < Double(expected.count), "the kill came after the whole run")
            // SIGTERM before the worker installed its handlers would end it with the default action.
            #expect(await eventually(timeout: .seconds(30)) { (try? await second.get("/readyz").status) == 200 })
            second.signal(SIGTERM)
            #expect(await second.waitForExit(timeout: .seconds(30)) == 0)
        }
    }

    @Test("SIGTERM mid-run: exit 0 within the bound, and the committed offsets cover only inputs already produced onward")
    func gracefulStop() async throws {
        let harness = try await RuntimeHarness.make(partitions: 2)
        _ = try await harness.seedAccounts(0..<10_000)
        let group = TestKafka.uniqueName("stopped")
        let inputs = try await harness.read(harness.input, count: 10_000)
        try await watching(harness, harness.output) { seen in
            let worker = try WorkerProcess(harness: harness, group: group, shutdownTimeout: "15s")
            _ = await eventually(timeout: .seconds(60)) { seen.count >= 1_000 }
            let stoppedAt = ContinuousClock.now
            worker.signal(SIGTERM)
            let status = await worker.waitForExit(timeout: .seconds(20))
            #expect(status == 0, "log: \(worker.log.suffix(3000))")
            #expect(ContinuousClock.now - stoppedAt < .seconds(16))
            #expect(worker.log.contains("worker stopped"))
            // Whatever the group committed must already be downstream.
            let committed = try await harness.committedOffsets(group: group)
            var required = Set<UUID>()
            for input in inputs {
                guard let position = committed[input.topicPartition], input.offset < position else { continue }
                let id = try RuntimeHarness.contracts.decode(input.value ?? [], as: BillingAccount.self).id
                required.insert(UUID(derivedFrom: "\(id.uuidString)|billing-account|0"))
            }
            let covered = required.count
            // The watcher may still be reading what the worker wrote before it stopped.
            _ = await eventually(timeout: .seconds(30)) { required.isSubset(of: seen.uniqueIDs) }
            let missing = required.subtracting(seen.uniqueIDs)
            #expect(missing.isEmpty, "\(missing.count) of \(covered) committed inputs were never produced onward")
            #expect(covered > 0)
        }
    }

    @Test("the metrics endpoint counts exactly what was fed in, and the health endpoints answer")
    func metricsAndHealth() async throws {
        let harness = try await RuntimeHarness.make(partitions: 2)
        _ = try await harness.seedAccounts(0..<200)
        for index in 0..<3 { try await harness.seedRaw(key: "poison-\(index)", value: Array("not json \(index)".utf8)) }
        let worker = try WorkerProcess(harness: harness, group: TestKafka.uniqueName("metrics"))
        let live = await eventually(timeout: .seconds(20)) { (try? await worker.get("/healthz").status) == 200 }
        #expect(live, "log: \(worker.log.suffix(2000))")
        let ready = await eventually(timeout: .seconds(30)) { (try? await worker.get("/readyz").status) == 200 }
        #expect(ready)
        // Processed counts a message once handled; produced once the broker acknowledged its
        // output, which comes later: both are waited for.
        let balanced = await eventually(timeout: .seconds(60)) {
            let processed = try? await worker.metric("billsync_messages_processed_total")
            let deadLettered = try? await worker.metric("billsync_messages_dead_lettered_total")
            let produced = try? await worker.metric("billsync_messages_produced_total", matching: ["topic=\"\(harness.output)\""])
            return processed == 200 && deadLettered == 3 && produced == 200
        }
        #expect(balanced)
        #expect(try await worker.metric("billsync_messages_consumed_total") == 203)
        #expect(try await worker.metric("billsync_messages_processed_total", matching: ["topic=\"\(harness.input)\""]) == 200)
        #expect(try await worker.metric("billsync_messages_dead_lettered_total", matching: ["code=\"schema.not-json\""]) == 3)
        #expect(try await worker.metric("billsync_messages_produced_total", matching: ["topic=\"\(harness.output)\""]) == 200)
        #expect(try await worker.metric("billsync_build_info") == 1)
        let (_, metrics) = try await worker.get("/metrics")
        #expect(metrics.contains("billsync_handler_duration_seconds"))
        #expect(metrics.contains("billsync_consumer_lag"))
        // Logs are JSON lines carrying the stage; a refused message's line names its topic.
        #expect(worker.log.split(separator: "\n").contains { $0.hasPrefix("{") && $0.contains("\"billsync.stage\":\"passthrough\"") })
        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(timeout: .seconds(30)) == 0)
    }
}

/// Messages seen on a topic, by envelope id.
final class SeenMessages: Sendable {
    private let state = Mutex<(count: Int, ids: Set<UUID>)>((0, []))

    func add(_ message: KafkaConsumerMessage) {
        let id = (try? RuntimeHarness.contracts.decode(message.value ?? [], as: BillingAccount.self))?.id
        state.withLock { state in
            state.count += 1
            if let id { state.ids.insert(id) }
        }
    }

    var count: Int { state.withLock { $0.count } }
    var uniqueIDs: Set<UUID> { state.withLock { $0.ids } }
}

extension RuntimeHarness {
    func committedOffsets(group: String) async throws -> [KafkaTopicPartition: Int64] {
        let configuration = KafkaConsumerConfiguration(connection: TestKafka.connection, groupID: group, subscription: .topics([]))
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        let partitions = (0..<partitions).map { KafkaTopicPartition(topic: input, partition: $0) }
        return try await consumer.committedOffsets(for: partitions)
    }
}
