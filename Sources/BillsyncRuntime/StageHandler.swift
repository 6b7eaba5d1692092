import BillsyncContracts
import BillsyncKafka
import Logging

/// A validated input message, with where it came from.
public struct StageMessage<Payload: MessagePayload>: Sendable {
    public let envelope: MessageEnvelope<Payload>
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    /// 1 for a first delivery; more when it came back from a retry topic.
    public let attempt: Int
    /// Carries the message's correlation id.
    public let logger: Logger

    public init(envelope: MessageEnvelope<Payload>, topic: String, partition: Int32, offset: Int64, attempt: Int = 1, logger: Logger) {
        self.envelope = envelope
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.attempt = attempt
        self.logger = logger
    }
}

/// A message a handler wants produced; the runtime writes it and waits for the broker before
/// the input counts as done.
public struct OutgoingMessage: Sendable {
    public var topic: String
    /// Keeps one business key in one partition, so its changes stay in order.
    public var key: String
    public var value: [UInt8]
    public var headers: [KafkaHeader]

    public init(topic: String, key: String, value: [UInt8], headers: [KafkaHeader] = []) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// A contract message, validated as it is encoded and keyed by its business key.
    public init<Payload: MessagePayload>(topic: String, message: MessageEnvelope<Payload>, contracts: MessageContracts) throws {
        self.init(topic: topic, key: message.businessKey, value: try contracts.encode(message),
                  headers: [KafkaHeader(name: StageHeaders.correlationID, value: Array(message.correlationId.uuidString.utf8))])
    }
}

/// What a stage supplies: its logic. The runtime does the rest (consume, validate, produce,
/// retry, dead-letter, commit).
///
/// A handler receives up to `batchSize` messages at once (the loader sends 200 records in one
/// Salesforce call) and answers for each one separately, so one bad record never fails its batch.
public protocol StageHandler: Sendable {
    associatedtype Input: MessagePayload

    /// Messages handed over at once. The default is 1.
    var batchSize: Int { get }

    /// One result per input, in the same order: the messages to produce, or why it failed.
    func handle(_ batch: [StageMessage<Input>]) async -> [Result<[OutgoingMessage], StageFailure>]

    /// Called once the broker acknowledged these outputs (before their inputs are marked done),
    /// for state that must only move forward with what was really written. The next chunk may
    /// already have been handled by then: the runtime overlaps one chunk's acknowledgements with
    /// the next chunk's work. Does nothing by default.
    func acknowledged(_ outputs: [OutgoingMessage]) async throws
}

extension StageHandler {
    public var batchSize: Int { 1 }
    public func acknowledged(_ outputs: [OutgoingMessage]) async throws {}
}

/// A handler that takes one message at a time.
public protocol RecordHandler: StageHandler {
    func handle(_ message: StageMessage<Input>) async throws -> [OutgoingMessage]
}

extension RecordHandler {
    public func handle(_ batch: [StageMessage<Input>]) async -> [Result<[OutgoingMessage], StageFailure>] {
        var results: [Result<[OutgoingMessage], StageFailure>] = []
        for message in batch {
            do {
                results.append(.success(try await handle(message)))
            } catch {
                results.append(.failure(StageFailure(unexpected: error)))
            }
        }
        return results
    }
}
