import BillsyncContracts
import BillsyncRuntime
import Foundation

/// The transformer stage: each raw billing record becomes the CRM upserts its mapping names,
/// keyed by the record's business key; a record that breaks a rule goes to the dead-letter topic
/// naming the rule and field; an upsert identical to the last one sent is not sent again.
public struct TransformerHandler: StageHandler {
    public typealias Input = AnyBillingRecord

    public let mapper: RecordMapper
    public let suppression: ChangeSuppression?
    public let outputTopic: String
    let contracts: MessageContracts

    public init(mapper: RecordMapper, suppression: ChangeSuppression?, outputTopic: String, contracts: MessageContracts) {
        self.mapper = mapper
        self.suppression = suppression
        self.outputTopic = outputTopic
        self.contracts = contracts
    }

    public var batchSize: Int { 200 }

    public func handle(_ batch: [StageMessage<AnyBillingRecord>]) async -> [Result<[OutgoingMessage], StageFailure>] {
        // Identical upserts within one batch are sent once (they are not acknowledged yet, so
        // the suppression store does not know them).
        var inBatch = Set<String>()
        return batch.map { message in
            var outputs: [OutgoingMessage] = []
            for (index, result) in mapper.map(message.envelope.payload.fields, type: message.envelope.type).enumerated() {
                switch result {
                case let .failure(rejection):
                    return .failure(.permanent("rule.\(rejection.rule)", rejection.description, pointer: rejection.pointer))
                case let .success(upsert):
                    do {
                        if let suppression, try !suppression.isChanged(upsert) { continue }
                        let identity = "\(upsert.object)|\(upsert.externalId)|\(ChangeSuppression.fingerprint(upsert))"
                        guard inBatch.insert(identity).inserted else { continue }
                        let derived = message.envelope.derived(index: index, payload: upsert)
                        outputs.append(try OutgoingMessage(topic: outputTopic, message: derived, contracts: contracts))
                    } catch {
                        return .failure(StageFailure(unexpected: error))
                    }
                }
            }
            return .success(outputs)
        }
    }

    /// Records what was written, so the same fields are not sent again.
    public func acknowledged(_ outputs: [OutgoingMessage]) async throws {
        guard let suppression else { return }
        let upserts = try outputs.map { try contracts.decode($0.value, as: CRMUpsert.self).payload }
        try suppression.recordSent(upserts)
    }
}
