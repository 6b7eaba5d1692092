import BillsyncContracts
import BillsyncKafka
import BillsyncRuntime
import Foundation

/// The alerter's stage: reads dead letters, results, run reports and others' alerts as records
/// (a dead letter's value is whatever failed), hands them to the engine, and writes the state
/// they changed as its outputs, so their offsets are committed only once that state is written.
public struct AlerterHandler: StageHandler {
    public typealias Input = KafkaConsumerMessage

    let engine: AlerterEngine
    let contracts: MessageContracts
    let stateTopic: String

    public init(engine: AlerterEngine, contracts: MessageContracts, stateTopic: String) {
        self.engine = engine
        self.contracts = contracts
        self.stateTopic = stateTopic
    }

    public var batchSize: Int { 500 }

    public func handle(_ batch: [StageMessage<KafkaConsumerMessage>]) async -> [Result<[OutgoingMessage], StageFailure>] {
        do {
            let records = await engine.ingest(batch.map(\.input), contracts: contracts)
            let outputs = try records.map { try AlerterState.message($0, topic: stateTopic, contracts: contracts) }
            // The state of the whole batch travels with its last message: all of it is written
            // before any of the batch is marked done.
            return batch.indices.map { $0 == batch.count - 1 ? .success(outputs) : .success([]) }
        } catch {
            let failure = StageFailure(unexpected: error)
            return batch.map { _ in .failure(failure) }
        }
    }
}

/// The state topic's records as messages.
enum AlerterState {
    static func message(_ state: AlertState, topic: String, contracts: MessageContracts) throws -> OutgoingMessage {
        let envelope = MessageEnvelope(source: MessageSource(system: .billsync, name: "alerter"), businessKey: state.key,
                                       occurredAt: state.updatedAt, payload: state)
        return OutgoingMessage(topic: topic, key: state.key, value: try contracts.encode(envelope))
    }
}
