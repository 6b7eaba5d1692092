import BillsyncKafka

/// The topics a billsync fleet uses, created up front so partitions and retention are chosen,
/// not left to a broker's auto-create defaults.
public struct TopicCatalog: Sendable {
    /// Billing entities the extractor publishes, one raw topic each.
    public static let billingEntities = [
        "account", "contact", "premise", "service-agreement", "bill",
        "financial-transaction", "meter-reading", "tariff", "product",
    ]
    /// Stages that consume and therefore have retry and dead-letter topics.
    public static let stages = ["transformer", "rollup", "loader", "loader-postgres", "loader-billing"]

    public var partitions: Int32
    public var prefix: String

    public init(partitions: Int32 = 4, prefix: String = "billsync") {
        self.partitions = partitions
        self.prefix = prefix
    }

    public func rawTopic(_ entity: String) -> String { "\(prefix).raw.\(entity)" }
    /// The consumer group of a stage's workers.
    public func group(of stage: String) -> String { "\(prefix)-\(stage)" }

    /// The topics a stage reads (besides its own retry topics).
    public func inputs(of stage: String) -> [String] {
        switch stage {
        case "transformer": ["account", "bill", "premise", "meter-reading"].map(rawTopic)
        case "rollup": ["account", "bill", "premise"].map(rawTopic)
        case "loader-billing": [rawTopic("meter-reading")]
        default: [upsertCommands]
        }
    }
    public var upsertCommands: String { "\(prefix).crm.upserts" }
    public var loadResults: String { "\(prefix).crm.results" }
    public func retryTopic(stage: String, tier: Int) -> String { "\(prefix).\(stage).retry.\(tier)" }
    public func deadLetterTopic(stage: String) -> String { "\(prefix).\(stage).dlq" }
    public var checkpoints: String { "\(prefix).checkpoints" }
    public var alerts: String { "\(prefix).alerts" }
    public var reports: String { "\(prefix).reports" }
    public var selfCheck: String { "\(prefix).selfcheck" }

    /// Every topic with its settings. Dead letters are kept 30 days so a person can look at them;
    /// checkpoints are compacted so the latest watermark per source survives forever.
    public var specifications: [KafkaTopicSpecification] {
        var topics = Self.billingEntities.map {
            KafkaTopicSpecification.retained(name: rawTopic($0), partitions: partitions, for: .seconds(7 * 86_400))
        }
        topics.append(.retained(name: upsertCommands, partitions: partitions, for: .seconds(7 * 86_400)))
        topics.append(.retained(name: loadResults, partitions: partitions, for: .seconds(14 * 86_400)))
        for stage in Self.stages {
            topics.append(.retained(name: retryTopic(stage: stage, tier: 1), partitions: partitions, for: .seconds(7 * 86_400)))
            topics.append(.retained(name: retryTopic(stage: stage, tier: 2), partitions: partitions, for: .seconds(7 * 86_400)))
            topics.append(.retained(name: deadLetterTopic(stage: stage), partitions: partitions, for: .seconds(30 * 86_400)))
        }
        // The extractor consumes nothing, so it has no retry topics; its rejected rows wait here.
        topics.append(.retained(name: deadLetterTopic(stage: "extractor"), partitions: partitions, for: .seconds(30 * 86_400)))
        topics.append(.compacted(name: checkpoints, partitions: 1))
        topics.append(.retained(name: alerts, partitions: 1, for: .seconds(30 * 86_400)))
        topics.append(.retained(name: reports, partitions: 1, for: .seconds(90 * 86_400)))
        topics.append(.retained(name: selfCheck, partitions: partitions, for: .seconds(86_400)))
        return topics
    }
}
