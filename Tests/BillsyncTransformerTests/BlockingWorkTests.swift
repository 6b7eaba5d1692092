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
        let writer = UpsertWriter(suppression: try ChangeSuppression(path: path), outputTopic: "upserts", contracts: TestRepository.contracts)
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
        DispatchQueue.global().asyncAfter(deadline: .now() + 4) { release() }

        try await withThrowingTaskGroup(of: Void.self) { group in
            // More waiting writers than the pool has threads.
            for _ in 0...ProcessInfo.processInfo.activeProcessorCount {
                group.addTask { try await writer.acknowledged(outputs) }
            }
            // A task that needs a pool thread, started once the writers are (very likely) waiting.
            let releasesSeenByProbe = await Task.detached { released.value }.value
            #expect(releasesSeenByProbe == 0, "the probe could only run after the database was released")
            release()
            try await group.waitForAll()
        }
    }
}
