import BillsyncTestSupport
import Foundation

extension WorkerProcess {
    static var executable: URL { executable("billsync-passthrough") }

    /// The sample pass-through worker over a harness's topics.
    convenience init(harness: RuntimeHarness, group: String, shutdownTimeout: String = "20s") throws {
        try self.init(executable: "billsync-passthrough", environment: [
            "BILLSYNC_STAGE_GROUP": group, "BILLSYNC_STAGE_INPUTS": harness.input,
            "BILLSYNC_STAGE_RETRYTOPICS": harness.retryTopics.joined(separator: ","), "BILLSYNC_STAGE_DEADLETTERTOPIC": harness.deadLetters,
            "BILLSYNC_PASSTHROUGH_OUTPUT": harness.output, "BILLSYNC_SHUTDOWN_TIMEOUT": shutdownTimeout,
            // Its own topics only: no heartbeat into the default fleet's workers topic.
            "BILLSYNC_HEARTBEAT_TOPIC": "none",
        ])
    }
}
