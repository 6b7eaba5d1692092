import BillsyncContracts
import BillsyncSQLite
import BillsyncTestSupport
import BillsyncTransformer
import Dispatch
import Foundation
import Testing

@Suite("SQLite work never holds Swift's cooperative pool")
struct BlockingWorkTests {
    @Test("while the suppression store waits for a locked database, other tasks of the process still run")
    func lockedDatabaseLeavesThePoolFree() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("blocking-\(UUID().uuidString).sqlite").path
        // Writers wait for the lock far longer than the test can take, so no give-up frees a thread.
        let suppression = try ChangeSuppression(path: path, busyTimeout: .seconds(120))
        let writer = UpsertWriter(suppression: suppression, outputTopic: "upserts", contracts: TestRepository.contracts)
        let envelope = MessageEnvelope(source: MessageSource(system: .csvDrop, name: "test"), businessKey: "0000000001", occurredAt: nil,
                                       payload: BillingAccount(customerId: "0000000001", accountId: "A-1", name: "Customer 1",
                                                               accountType: .residential, status: .active))
        var pending = UpsertWriter.Pending()
        try writer.add(CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0000000001",
                                 fields: ["Name": .string("Customer 1")]), index: 0, from: envelope, to: &pending)
        let outputs = writer.commit(pending)

        // Another connection holds the write lock: recording what was sent waits (busy timeout).
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
                group.addTask { try await writer.acknowledged(outputs) }
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
