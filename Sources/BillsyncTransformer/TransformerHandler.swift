import BillsyncContracts
import BillsyncRuntime
import Foundation
import Synchronization

/// The transformer stage: each raw billing record becomes the CRM upserts its mapping names,
/// keyed by the record's business key; a record that breaks a rule goes to the dead-letter topic
/// naming the rule and field; an upsert identical to the last one sent is not sent again.
public struct TransformerHandler: StageHandler {
    public typealias Input = AnyBillingRecord

    public let mapper: RecordMapper
    public let suppression: ChangeSuppression?
    public let outputTopic: String
    let contracts: MessageContracts
    /// Upserts written but not yet acknowledged: the suppression store does not know them yet,
    /// and the runtime handles the next chunk while the broker acknowledges the previous one.
    private let unacknowledged = UnacknowledgedUpserts()

    public init(mapper: RecordMapper, suppression: ChangeSuppression?, outputTopic: String, contracts: MessageContracts) {
        self.mapper = mapper
        self.suppression = suppression
        self.outputTopic = outputTopic
        self.contracts = contracts
    }

    public var batchSize: Int { 200 }

    public func handle(_ batch: [StageMessage<AnyBillingRecord>]) async -> [Result<[OutgoingMessage], StageFailure>] {
        batch.map { message in
            var outputs: [OutgoingMessage] = []
            var identities: [String] = []
            for (index, result) in mapper.map(message.envelope.payload.fields, type: message.envelope.type).enumerated() {
                switch result {
                case let .failure(rejection):
                    return .failure(.permanent("rule.\(rejection.rule)", rejection.description, pointer: rejection.pointer))
                case let .success(upsert):
                    do {
                        if let suppression, try !suppression.isChanged(upsert) { continue }
                        let identity = UnacknowledgedUpserts.identity(of: upsert)
                        guard !unacknowledged.contains(identity), !identities.contains(identity) else { continue }
                        identities.append(identity)
                        let derived = message.envelope.derived(index: index, payload: upsert)
                        outputs.append(try OutgoingMessage(topic: outputTopic, message: derived, contracts: contracts))
                    } catch {
                        return .failure(StageFailure(unexpected: error))
                    }
                }
            }
            // Only a record that is written as a whole holds its upserts back from being sent again.
            unacknowledged.insert(identities)
            return .success(outputs)
        }
    }

    /// Records what was written, so the same fields are not sent again.
    public func acknowledged(_ outputs: [OutgoingMessage]) async throws {
        let upserts = try outputs.compactMap { output -> CRMUpsert? in
            guard output.topic == outputTopic else { return nil }
            return try contracts.decodeOwn(output.value, as: CRMUpsert.self).payload
        }
        try suppression?.recordSent(upserts)
        unacknowledged.remove(upserts.map(UnacknowledgedUpserts.identity(of:)))
    }
}

/// The identities of upserts handed to the broker and not yet acknowledged.
final class UnacknowledgedUpserts: Sendable {
    private let identities = Mutex<Set<String>>([])

    static func identity(of upsert: CRMUpsert) -> String {
        "\(upsert.object)|\(upsert.externalId)|\(ChangeSuppression.fingerprint(upsert))"
    }

    func contains(_ identity: String) -> Bool { identities.withLock { $0.contains(identity) } }
    func insert(_ new: [String]) { identities.withLock { $0.formUnion(new) } }
    func remove(_ written: [String]) { identities.withLock { $0.subtract(written) } }
}
