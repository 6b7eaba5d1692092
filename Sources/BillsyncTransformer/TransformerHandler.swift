import BillsyncContracts
import BillsyncRuntime
import BillsyncSQLite
import Foundation

/// The transformer stage: each raw billing record becomes the CRM upserts its mapping names,
/// keyed by the record's business key; a record that breaks a rule goes to the dead-letter topic
/// naming the rule and field; an upsert identical to the last one sent is not sent again.
public struct TransformerHandler: StageHandler {
    public typealias Input = MessageEnvelope<AnyBillingRecord>

    public let mapper: RecordMapper
    public let writer: UpsertWriter

    public init(mapper: RecordMapper, suppression: ChangeSuppression?, outputTopic: String, contracts: MessageContracts) {
        self.mapper = mapper
        self.writer = UpsertWriter(suppression: suppression, outputTopic: outputTopic, contracts: contracts)
    }

    public var batchSize: Int { 200 }
    /// An upsert is its raw record in the CRM's shape: it keeps the record's file, line and row.
    public var carriesOrigin: Bool { true }

    /// The batch's work runs off the cooperative pool: change suppression reads SQLite.
    public func handle(_ batch: [ContractMessage<AnyBillingRecord>]) async -> [Result<[OutgoingMessage], StageFailure>] {
        guard writer.suppression != nil else { return transform(batch) }
        return await SQLiteDatabase.offPool { [self] in transform(batch) }
    }

    func transform(_ batch: [ContractMessage<AnyBillingRecord>]) -> [Result<[OutgoingMessage], StageFailure>] {
        batch.map { message in
            var pending = UpsertWriter.Pending()
            for (index, result) in mapper.map(message.envelope.payload.fields, type: message.envelope.type).enumerated() {
                switch result {
                case let .failure(rejection):
                    return .failure(.permanent("rule.\(rejection.rule)", rejection.description, pointer: rejection.pointer))
                case let .success(upsert):
                    do {
                        try writer.add(upsert, index: index, from: message.envelope, replayed: message.replayID != nil, to: &pending)
                    } catch {
                        return .failure(StageFailure(unexpected: error))
                    }
                }
            }
            return .success(writer.commit(pending))
        }
    }

    public func acknowledged(_ outputs: [OutgoingMessage]) async throws {
        try await writer.acknowledged(outputs)
    }
}
