import Metrics
import Synchronization

/// The counters every worker exports (Prometheus names), labelled by stage, topic and error code.
///
/// The balance they keep: `consumed = processed + retried + dead_lettered` (plus what is in
/// flight), which is what an operator checks first when a record seems to be missing.
public final class StageMetrics: Sendable {
    public let stage: String
    private let counters = Mutex<[String: Counter]>([:])
    private let gauges = Mutex<[String: Gauge]>([:])
    private let handlerDuration: Timer

    public init(stage: String) {
        self.stage = stage
        handlerDuration = Timer(label: "billsync_handler_duration_seconds", dimensions: [("stage", stage)],
                                preferredDisplayUnit: .seconds)
    }

    private func counter(_ name: String, _ dimensions: [(String, String)]) -> Counter {
        let key = name + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return counters.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = Counter(label: name, dimensions: [("stage", stage)] + dimensions)
            cache[key] = counter
            return counter
        }
    }

    func consumed(topic: String, count: Int = 1) {
        counter("billsync_messages_consumed_total", [("topic", topic)]).increment(by: count)
    }

    func processed(topic: String, count: Int = 1) {
        counter("billsync_messages_processed_total", [("topic", topic)]).increment(by: count)
    }

    func produced(topic: String, count: Int = 1) {
        counter("billsync_messages_produced_total", [("topic", topic)]).increment(by: count)
    }

    func failed(topic: String, failure: StageFailure) {
        counter("billsync_messages_failed_total", [("topic", topic), ("class", failure.errorClass.rawValue), ("code", failure.code)])
            .increment()
    }

    func retried(topic: String, code: String) {
        counter("billsync_messages_retried_total", [("topic", topic), ("code", code)]).increment()
    }

    func deadLettered(topic: String, code: String) {
        counter("billsync_messages_dead_lettered_total", [("topic", topic), ("code", code)]).increment()
    }

    func handled(batchOf _: Int, duration: Duration) {
        handlerDuration.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    private func gauge(_ name: String, _ dimensions: [(String, String)]) -> Gauge {
        let key = name + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return gauges.withLock { cache in
            if let gauge = cache[key] { return gauge }
            let gauge = Gauge(label: name, dimensions: [("stage", stage)] + dimensions)
            cache[key] = gauge
            return gauge
        }
    }

    /// `billsync_consumer_lag` (messages behind the high watermark) and
    /// `billsync_consumer_lag_seconds` (age of the oldest message in hand), per partition.
    func lag(_ lag: StageLag) {
        for (partition, value) in lag.partitions {
            let dimensions = [("topic", partition.topic), ("partition", String(partition.partition))]
            gauge("billsync_consumer_lag", dimensions).record(Double(value.messages))
            gauge("billsync_consumer_lag_seconds", dimensions).record(value.oldestUnprocessedAge.timeInterval)
        }
    }

    /// Retry partitions paused until their next message is due.
    func deferredPartitions(_ count: Int) {
        gauge("billsync_retry_partitions_waiting", []).record(Double(count))
    }

    /// A constant 1 whose labels say what is running.
    public static func recordBuildInfo(version: String, librdkafka: String) {
        Gauge(label: "billsync_build_info", dimensions: [("version", version), ("librdkafka", librdkafka)]).record(1)
    }
}
