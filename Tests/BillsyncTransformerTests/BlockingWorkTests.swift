import BillsyncContracts
import BillsyncJSON
import BillsyncMapping
import BillsyncSQLite
import BillsyncRuntime
import BillsyncTestSupport
import BillsyncTransformer
import Dispatch
import Foundation
import Logging
import Testing

@Suite("SQLite work never holds Swift's cooperative pool")
struct BlockingWorkTests {
    @Test("while the roll-up's hierarchy store waits for a locked database, other tasks of the process still run")
    func lockedDatabaseLeavesThePoolFree() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("blocking-\(UUID().uuidString).sqlite").path
        // Writers wait for the lock far longer than the test can take, so no give-up frees a thread.
        let contracts = TestRepository.contracts
        let document = try MappingDocument(yaml: String(contentsOf: TestRepository.mappingFile, encoding: .utf8))
        let handler = HierarchyRollupHandler(mapping: try #require(document.hierarchy), store: try HierarchyStore(path: path, busyTimeout: .seconds(120)),
                                             writer: UpsertWriter(loaded: nil, outputTopic: "upserts", contracts: contracts),
                                             factsTopic: "facts", contracts: contracts)
        var fields = JSONObject()
        fields["accountId"] = .string("A-1")
        fields["customerId"] = .string("0000000001")
        fields["hierarchyLevel"] = .string("C1")
        var envelope = MessageEnvelope(source: MessageSource(system: .csvDrop, name: "test"), businessKey: "0000000001", occurredAt: nil,
                                       payload: AnyBillingRecord(fields: .object(fields)))
        envelope.type = .billingAccount
        let batch = [StageMessage(envelope: envelope, topic: "raw", partition: 0, offset: 0, logger: Logger(label: "test"))]

        // Another connection holds the write lock: recording the account's facts waits (busy timeout).
        let holder = try SQLiteDatabase(path: path)
        try holder.execute("BEGIN EXCLUSIVE")
        let released = Counter()
        let release: @Sendable () -> Void = {
            released.increment()
            if released.value == 1 { try? holder.execute("COMMIT") }
        }
        // The last resort, off the pool: if the pool is blocked, nothing else would release it.
        // Generous, so a machine busy with other suites cannot make the fixed code miss it.
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { release() }

        try await withThrowingTaskGroup(of: Void.self) { group in
            // More waiting writers than the pool has threads.
            for _ in 0...ProcessInfo.processInfo.activeProcessorCount {
                group.addTask { _ = await handler.handle(batch) }
            }
            // A task that needs a pool thread: with the writers' waits on the pool it could only
            // run once the lock was released.
            let releasesSeenByProbe = await Task.detached { released.value }.value
            #expect(releasesSeenByProbe == 0, "the probe could only run after the database was released")
            release()
            try await group.waitForAll()
        }
    }
}
