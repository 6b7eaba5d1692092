import BillsyncKafka

/// Forwards every record as it is (key, value bytes, headers) to one output topic: no decoding,
/// validation or mapping. On the stage runtime it is the whole at-least-once loop (consume,
/// produce, wait for the broker, mark done, commit) and nothing else, which makes it the limit a
/// stage can reach on a given broker and machine (`billsync-bench transformer` compares against it).
public struct RawForwardHandler: StageHandler {
    public typealias Input = KafkaConsumerMessage

    public let outputTopic: String

    public init(outputTopic: String) {
        self.outputTopic = outputTopic
    }

    /// As large as the transformer's, so both hand the same batches to their handler.
    public var batchSize: Int { 200 }

    public func handle(_ batch: [StageMessage<KafkaConsumerMessage>]) async -> [Result<[OutgoingMessage], StageFailure>] {
        batch.map { message in
            let record = message.input
            return .success([OutgoingMessage(topic: outputTopic, key: String(decoding: record.key ?? [], as: UTF8.self),
                                             value: record.value ?? [], headers: record.headers)])
        }
    }
}
