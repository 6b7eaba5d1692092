import BillsyncKafka

/// The topics a billsync fleet uses: the one place their names are spelled, with their
/// partitions, retention and compaction, and which stage reads which. Every worker and the CLI
/// take their topic names from here, so a prefix (several environments on one cluster) changes
/// all of them at once. Created up front so partitions and retention are chosen, not left to a
/// broker's auto-create defaults.
public struct TopicCatalog: Sendable {
    /// Billing entities the extractor publishes, one raw topic each.
    public static let billingEntities = [
        "account", "contact", "premise", "service-agreement", "bill",
        "financial-transaction", "meter-reading", "tariff", "product",
    ]
    /// Stages that consume and therefore have retry and dead-letter topics.
    public static let stages: [Stage] = [.transformer, .rollup, .loader, .loaderPostgres, .loaderBilling]
    /// Raw entities the transformer maps (those the mapping file has objects for).
    public static let transformerEntities = ["account", "bill", "premise", "meter-reading", "product"]
    /// Raw entities the roll-up role keeps hierarchy facts from.
    public static let rollupEntities = ["account", "bill", "premise"]
    /// Raw entities the billing sink sends back to the billing engine.
    public static let billingUploadEntities = ["meter-reading"]

    public var partitions: Int32
    public var prefix: String

    public init(partitions: Int32 = 4, prefix: String = "billsync") {
        self.partitions = partitions
        self.prefix = prefix
    }

    /// The prefix from BILLSYNC_TOPIC_PREFIX (default `billsync`).
    public init(environment: [String: String]) {
        self.init(prefix: environment["BILLSYNC_TOPIC_PREFIX"] ?? "billsync")
    }

    public func rawTopic(_ entity: String) -> String { "\(prefix).raw.\(entity)" }
    /// The consumer group of a stage's workers.
    public func group(of stage: Stage) -> String { "\(prefix)-\(stage.rawValue)" }

    /// The topics a stage reads (besides its own retry topics).
    public func inputs(of stage: Stage) -> [String] {
        switch stage {
        case .transformer: Self.transformerEntities.map(rawTopic)
        case .rollup: Self.rollupEntities.map(rawTopic)
        case .loaderBilling: Self.billingUploadEntities.map(rawTopic)
        case .loader, .loaderPostgres: [upsertCommands]
        case .alerter: (Self.stages + [.extractor]).map { deadLetterTopic(stage: $0) } + [loadResults, reports, alerts]
        default: []
        }
    }
    public var upsertCommands: String { "\(prefix).crm.upserts" }
    public var loadResults: String { "\(prefix).crm.results" }
    /// The latest successful Salesforce load result of each record and field set, compacted:
    /// what change suppression compares with (every transformer replica reads all of it) and
    /// how the loader knows a record exists.
    public var loadedRecords: String { "\(prefix).crm.loaded" }
    /// The roll-up role's hierarchy facts (each account's parent, its latest bill, each
    /// premise), compacted: its state, read back whole when it starts.
    public var rollupFacts: String { "\(prefix).rollup.facts" }
    /// The stage's retry topic of a tier (1, 2): where a failed message waits its delay.
    public func retryTopic(stage: Stage, tier: Int) -> String { "\(prefix).\(stage.rawValue).retry.\(tier)" }
    /// The stage's retry topics, one per tier.
    public func retryTopics(stage: Stage) -> [String] { (1...Self.retryTiers).map { retryTopic(stage: stage, tier: $0) } }
    public func deadLetterTopic(stage: Stage) -> String { "\(prefix).\(stage.rawValue).dlq" }
    /// Retry tiers every consuming stage has (30 s, then 5 min by default).
    public static let retryTiers = 2
    public var checkpoints: String { "\(prefix).checkpoints" }
    public var alerts: String { "\(prefix).alerts" }
    public var reports: String { "\(prefix).reports" }
    public var selfCheck: String { "\(prefix).selfcheck" }
    /// Every worker's latest heartbeat (`worker-status`), compacted by worker.
    public var workers: String { "\(prefix).workers" }
    /// Silences of alert groups, compacted by silence id.
    public var silences: String { "\(prefix).alerter.silences" }
    /// Replays and redrives the operator tool runs, compacted by activity id.
    public var operatorActivity: String { "\(prefix).operator.activity" }
    /// Dead letters redriven too often: kept for a person, never redriven automatically.
    public var parking: String { "\(prefix).parking" }
    /// The alerter's durable state (alert groups, pending deliveries, tallies), compacted by key.
    public var alerterState: String { "\(prefix).alerter.state" }
    /// Where the sample stage (`billsync-passthrough`, the runtime's smallest worker) writes.
    public var passthroughOutput: String { "\(prefix).passthrough.out" }
    /// Where a benchmark's contender (not a billsync stage) writes its outputs and dead letters.
    public func benchmarkOutput(_ contender: String) -> String { "\(prefix).\(contender).out" }
    public func benchmarkDeadLetters(_ contender: String) -> String { "\(prefix).\(contender).dlq" }

    /// Every topic with its settings. Dead letters are kept 30 days so a person can look at them;
    /// checkpoints are compacted so the latest watermark per source survives forever.
    public var specifications: [KafkaTopicSpecification] {
        var topics = Self.billingEntities.map {
            KafkaTopicSpecification.retained(name: rawTopic($0), partitions: partitions, for: .seconds(7 * 86_400))
        }
        topics.append(.retained(name: upsertCommands, partitions: partitions, for: .seconds(7 * 86_400)))
        topics.append(.retained(name: loadResults, partitions: partitions, for: .seconds(14 * 86_400)))
        for stage in Self.stages {
            for retry in retryTopics(stage: stage) {
                topics.append(.retained(name: retry, partitions: partitions, for: .seconds(7 * 86_400)))
            }
            topics.append(.retained(name: deadLetterTopic(stage: stage), partitions: partitions, for: .seconds(30 * 86_400)))
        }
        // The extractor consumes nothing, so it has no retry topics; its rejected rows wait here.
        topics.append(.retained(name: deadLetterTopic(stage: .extractor), partitions: partitions, for: .seconds(30 * 86_400)))
        topics.append(.compacted(name: checkpoints, partitions: 1))
        topics.append(.compacted(name: loadedRecords, partitions: partitions))
        topics.append(.compacted(name: rollupFacts, partitions: 1))
        topics.append(.compacted(name: workers, partitions: 1))
        topics.append(.compacted(name: silences, partitions: 1))
        topics.append(.compacted(name: operatorActivity, partitions: 1))
        topics.append(.compacted(name: alerterState, partitions: 1))
        topics.append(.retained(name: parking, partitions: 1, for: .seconds(90 * 86_400)))
        for retry in retryTopics(stage: .alerter) {
            topics.append(.retained(name: retry, partitions: 1, for: .seconds(7 * 86_400)))
        }
        topics.append(.retained(name: deadLetterTopic(stage: .alerter), partitions: 1, for: .seconds(30 * 86_400)))
        topics.append(.retained(name: alerts, partitions: 1, for: .seconds(30 * 86_400)))
        topics.append(.retained(name: reports, partitions: 1, for: .seconds(90 * 86_400)))
        topics.append(.retained(name: selfCheck, partitions: partitions, for: .seconds(86_400)))
        return topics
    }
}
