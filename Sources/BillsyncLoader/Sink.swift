import BillsyncContracts
import BillsyncRuntime
import BillsyncTopics

/// Where the loader writes: Salesforce, a PostgreSQL replica of the CRM, or the billing engine.
/// One loader process runs one sink, chosen by configuration (`--sink`, BILLSYNC_LOADER_SINK).
///
/// A sink sends each batch once and answers one outcome per record: loaded (its result
/// message), or failed with a class. It never sends a record again by itself. A transient
/// failure goes back to the runtime, whose one retry policy (`retry.*` in the worker's
/// configuration) decides when the record is sent again: in process after a jittered backoff,
/// the records failing together resent in one call, then from each retry topic after its delay,
/// then to the dead-letter topic. So how often and when a record is sent follows from the
/// configuration alone (README, "How often a failing record is sent").
///
/// A sink may wait without sending (Salesforce's API limit reached): waiting is not an attempt.
public protocol Sink: StageHandler {
    /// The name its results are filed under in the results topic.
    static var kind: CRMLoadResult.Sink { get }
}

/// The sinks a loader can run.
public enum SinkChoice: String, Sendable, CaseIterable {
    case salesforce
    case postgres
    case billing

    /// The stage (and so the consumer group and topics) of a loader running this sink.
    public var stage: Stage {
        switch self {
        case .salesforce: .loader
        case .postgres: .loaderPostgres
        case .billing: .loaderBilling
        }
    }
}
