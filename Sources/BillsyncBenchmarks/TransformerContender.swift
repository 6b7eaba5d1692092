import BillsyncKafka
import BillsyncRuntime
import BillsyncTopics
import Foundation

/// One stage process the transformer benchmark measures, and how it is started: the
/// `billsync-transformer` executable, the raw pipe (`billsync-passthrough --raw`, the limit) or the
/// Python stage. Every one reads the same seeded raw topics from the beginning in a consumer group
/// of its own, writes to its own output (and dead-letter) topic with the same producer and commit
/// settings, and exports `billsync_messages_consumed_total` and `billsync_messages_produced_total`
/// by topic on its /metrics, from which all of them are timed the same way.
enum TransformerContender: String, CaseIterable, Sendable {
    case transformer
    case pipe
    case python

    var title: String {
        switch self {
        case .transformer: "billsync-transformer"
        case .pipe: "raw pipe (billsync-passthrough --raw)"
        case .python: "Python stage (confluent-kafka, fastjsonschema)"
        }
    }

    /// Where its outputs go: what counts as "every input answered" (an output or a dead letter).
    func outputTopics(_ catalog: TopicCatalog) -> [String] {
        switch self {
        case .transformer: [catalog.upsertCommands, catalog.deadLetterTopic(stage: .transformer)]
        case .pipe: [catalog.benchmarkOutput("pipe"), catalog.deadLetterTopic(stage: Stage("passthrough"))]
        case .python: [catalog.benchmarkOutput("python"), catalog.benchmarkDeadLetters("python")]
        }
    }

    /// Topics it needs beyond the catalog's.
    static func extraTopics(_ catalog: TopicCatalog) -> [KafkaTopicSpecification] {
        let names = TransformerContender.pipe.outputTopics(catalog) + TransformerContender.python.outputTopics(catalog)
            + catalog.retryTopics(stage: Stage("passthrough"))
        return names.map { KafkaTopicSpecification(name: $0, partitions: catalog.partitions) }
    }

    struct Launch {
        let executable: String
        let arguments: [String]
        let environment: [String: String]
    }

    /// The process for one round. `group` is new each round, so each reads the input from the start.
    func launch(catalog: TopicCatalog, group: String, setup: TransformerBenchmark.Setup, scratch: URL, round: Int) -> Launch {
        // Every contender gets the same librdkafka extras: a short session timeout only makes the
        // local broker assign partitions sooner (before the clock starts).
        var environment = ["BILLSYNC_STAGE_GROUP": group, "BILLSYNC_KAFKA_PROPERTY_SESSION_TIMEOUT_MS": "6000"]
        let inputs = catalog.inputs(of: .transformer)
        switch self {
        case .transformer:
            environment["BILLSYNC_TRANSFORMER_MAPPING"] = setup.mappingFile.path
            // Change suppression on: its memory is the catalog's loaded-records topic, read at
            // start and followed; no loader runs here, so it stays empty and every upsert is
            // looked up and sent, as in the Python stage's in-memory map.
            environment["BILLSYNC_SCHEMAS"] = setup.schemas.path
            return Launch(executable: setup.executable("billsync-transformer"), arguments: [], environment: environment)
        case .pipe:
            environment["BILLSYNC_STAGE_INPUTS"] = inputs.joined(separator: ",")
            environment["BILLSYNC_PASSTHROUGH_OUTPUT"] = outputTopics(catalog)[0]
            environment["BILLSYNC_SCHEMAS"] = setup.schemas.path
            return Launch(executable: setup.executable("billsync-passthrough"), arguments: ["--raw"], environment: environment)
        case .python:
            // The malloc arenas a billsync worker limits itself to (StageWorker.limitMallocArenas).
            environment["MALLOC_ARENA_MAX"] = "2"
            // The prefetch limits a billsync stage's consumer has (StageWorker.consumerDefaults).
            for (name, value) in StageWorker.consumerDefaults {
                environment["BILLSYNC_KAFKA_PROPERTY_" + name.uppercased().replacingOccurrences(of: ".", with: "_")] = value
            }
            let topics = inputs + catalog.retryTopics(stage: .transformer)
            return Launch(executable: setup.python, arguments: [
                setup.pythonScript, setup.brokers, group, topics.joined(separator: ","),
                outputTopics(catalog)[0], outputTopics(catalog)[1], setup.schemas.path, setup.mappingFile.path,
            ], environment: environment)
        }
    }
}

/// What one contender did in one round.
struct ContenderRun: Sendable {
    let contender: TransformerContender
    let round: Int
    let records: Int
    let seconds: Double
    let deadLetters: Int
    let peakMegabytes: Double
    /// The process's CPU time over the timed span.
    let cpuSeconds: Double

    var recordsPerSecond: Double { seconds > 0 ? Double(records) / seconds : 0 }
}
