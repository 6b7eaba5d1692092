import BillsyncContracts
import Metrics

/// What the loader did, by sink, object and outcome: `billsync_loader_records_total`. The
/// numbers a person asks for first ("how many were created, updated, failed?").
enum LoaderMetrics {
    static func recorded(_ outcome: CRMLoadResult.Outcome, sink: CRMLoadResult.Sink, object: String) {
        Counter(label: "billsync_loader_records_total",
                dimensions: [("sink", sink.rawValue), ("object", object), ("outcome", outcome.rawValue)]).increment()
    }
}
