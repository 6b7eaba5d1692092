import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import Foundation
import Logging

/// What a handler reads from its topics: a contract message, validated against its schema
/// before the handler sees it (`MessageEnvelope<Payload>`), or a record as it is
/// (`KafkaConsumerMessage`: key, value bytes, headers, topic, partition, offset, timestamp),
/// for workers that read what others could not handle: the alerter and the redrive read
/// dead letters, whose values are whatever failed, a raw CSV row included.
public protocol StageInput: Sendable {
    /// The input read from a consumed record; throws when the record can never be this input
    /// (poison: it is dead-lettered at once).
    static func decode(_ record: KafkaConsumerMessage, contracts: MessageContracts) throws(ContractViolation) -> Self
    /// Carried into the logs of everything done for this input.
    var correlationID: String? { get }
}

/// A contract message as a handler's input.
public protocol ContractInput: StageInput {
    associatedtype Payload: MessagePayload
}

extension MessageEnvelope: StageInput, ContractInput {
    public static func decode(_ record: KafkaConsumerMessage, contracts: MessageContracts) throws(ContractViolation) -> Self {
        try contracts.decode(record.value ?? [], as: Payload.self)
    }

    public var correlationID: String? { correlationId.uuidString }
}

extension KafkaConsumerMessage: StageInput {
    /// Every record is a valid record.
    public static func decode(_ record: KafkaConsumerMessage, contracts _: MessageContracts) -> KafkaConsumerMessage { record }

    public var correlationID: String? {
        headers.last { $0.name == StageHeaders.correlationID }?.value.map { String(decoding: $0, as: UTF8.self) }
    }
}

/// An input message, with where it came from.
public struct StageMessage<Input: StageInput>: Sendable {
    public let input: Input
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    /// 1 for a first delivery; more when it came back from a retry topic.
    public let attempt: Int
    /// How far behind the stage was on every partition it reads when this message was taken.
    public let lag: StageLag
    /// Carries the message's topic, partition and offset and its correlation id. Built when
    /// asked for (a failure, a warning): per message it cost more than the rest of taking it.
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: RuntimeLogKeys.topic] = "\(topic)"
        logger[metadataKey: RuntimeLogKeys.offset] = "\(partition):\(offset)"
        if let correlationID = input.correlationID { logger[metadataKey: RuntimeLogKeys.correlationID] = "\(correlationID)" }
        return logger
    }
    private let baseLogger: Logger
    /// Set when an operator replayed or redrove the message (`billsync.replay-id`): what it
    /// produces carries the same id, and the transformer does not suppress it as unchanged.
    public let replayID: String?
    /// Where the input came from (`StageHeaders.lineage`: a file's name, line, row and columns):
    /// a handler whose output is the same record in another form passes it on.
    public let lineage: [KafkaHeader]
    /// Whether the handler may still answer `StageFailure.waiting` for it: false once it has
    /// waited `StageRuntimeConfiguration.maximumWait` (it must then be handled as it is).
    public let mayWait: Bool

    public init(input: Input, topic: String, partition: Int32, offset: Int64, attempt: Int = 1,
                lag: StageLag = StageLag(), logger: Logger, replayID: String? = nil, lineage: [KafkaHeader] = [], mayWait: Bool = true) {
        self.input = input
        self.mayWait = mayWait
        self.lineage = lineage
        self.replayID = replayID
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.attempt = attempt
        self.lag = lag
        baseLogger = logger
    }
}

extension StageMessage where Input: ContractInput {
    /// The validated contract message.
    public var envelope: Input { input }

    public init(envelope: Input, topic: String, partition: Int32, offset: Int64, attempt: Int = 1, logger: Logger) {
        self.init(input: envelope, topic: topic, partition: partition, offset: offset, attempt: attempt, logger: logger)
    }
}

/// A contract message as handed to a handler.
public typealias ContractMessage<Payload: MessagePayload> = StageMessage<MessageEnvelope<Payload>>

/// A message a handler wants produced; the runtime writes it and waits for the broker before
/// the input counts as done.
public struct OutgoingMessage: Sendable {
    public var topic: String
    /// Keeps one business key in one partition, so its changes stay in order.
    public var key: String
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// The handler's own mark, never sent: handed back unchanged to its `acknowledged`, so that
    /// it can tell which of its outputs the broker now holds without comparing their bytes.
    public var tag: UInt64 = 0

    public init(topic: String, key: String, value: [UInt8], headers: [KafkaHeader] = []) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// A contract message, validated as it is encoded and keyed by its business key.
    /// `payloadJSON`: the payload's tree, when the stage built it already.
    public init<Payload: MessagePayload>(topic: String, message: MessageEnvelope<Payload>, payloadJSON: JSONValue? = nil,
                                         contracts: MessageContracts) throws {
        let value = try payloadJSON.map { try contracts.encode(message, payloadJSON: $0) } ?? contracts.encode(message)
        self.init(topic: topic, key: message.businessKey, value: value,
                  headers: [KafkaHeader(name: StageHeaders.correlationID, value: Array(message.correlationId.text.utf8))])
    }
}

/// What a stage supplies: its logic. The runtime does the rest (consume, validate, produce,
/// retry, dead-letter, commit).
///
/// A handler receives up to `batchSize` messages at once (the loader sends 200 records in one
/// Salesforce call) and answers for each one separately, so one bad record never fails its batch.
public protocol StageHandler: Sendable {
    /// What it reads: `MessageEnvelope<SomePayload>` (validated) or `KafkaConsumerMessage` (as it is).
    associatedtype Input: StageInput

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
