import BillsyncBlocking
import BillsyncContracts
import BillsyncKafka
import BillsyncRuntime
import BillsyncSQLite
import Foundation
import Synchronization

/// Turns upserts into outgoing messages, leaving out what need not be sent: an upsert identical
/// to the last one written for its record (change suppression, which survives restarts) or to
/// one written and not yet acknowledged (the runtime handles the next chunk while the broker
/// acknowledges the previous one, and the suppression store only learns of what was acknowledged).
public final class UpsertWriter: Sendable {
    public let suppression: ChangeSuppression?
    public let outputTopic: String
    let contracts: MessageContracts
    private let unacknowledged = Mutex<Set<String>>([])

    public init(suppression: ChangeSuppression?, outputTopic: String, contracts: MessageContracts) {
        self.suppression = suppression
        self.outputTopic = outputTopic
        self.contracts = contracts
    }

    /// What one input yields, to be kept back from sending again once the input is written as a whole.
    public struct Pending {
        public var outputs: [OutgoingMessage] = []
        var identities: [String] = []

        public init() {}
    }

    /// Adds an upsert derived from `envelope` to `pending`, unless it need not be sent. A
    /// `replayed` input (a backfill, a redrive) is sent even when unchanged: re-sending it is the point.
    public func add<Input: MessagePayload>(_ upsert: CRMUpsert, index: Int, businessKey: String? = nil,
                                           from envelope: MessageEnvelope<Input>, replayed: Bool = false, headers: [KafkaHeader] = [],
                                           to pending: inout Pending) throws {
        // One fingerprint per upsert serves the suppression store and the unacknowledged set.
        let fingerprint = ChangeSuppression.fingerprint(upsert)
        if !replayed, let suppression, try !suppression.isChanged(upsert, fingerprint: fingerprint) { return }
        let identity = Self.identity(upsert, fingerprint: fingerprint)
        guard !pending.identities.contains(identity), !unacknowledged.withLock({ $0.contains(identity) }) else { return }
        pending.identities.append(identity)
        let derived = envelope.derived(businessKey: businessKey, index: index, payload: upsert)
        var output = try OutgoingMessage(topic: outputTopic, message: derived, contracts: contracts)
        output.headers += headers
        pending.outputs.append(output)
    }

    /// The input's outputs are final: hold them back from being sent again until acknowledged.
    public func commit(_ pending: Pending) -> [OutgoingMessage] {
        unacknowledged.withLock { $0.formUnion(pending.identities) }
        return pending.outputs
    }

    /// Records acknowledged upserts, so the same fields are not sent again (a SQLite write,
    /// made off the cooperative pool).
    public func acknowledged(_ outputs: [OutgoingMessage]) async throws {
        guard suppression != nil else { return try record(outputs) }
        try await BlockingWork.run { [self] in try record(outputs) }
    }

    func record(_ outputs: [OutgoingMessage]) throws {
        let written = try outputs.compactMap { output -> (upsert: CRMUpsert, fingerprint: String)? in
            guard output.topic == outputTopic else { return nil }
            let upsert = try contracts.decodeOwn(output.value, as: CRMUpsert.self).payload
            return (upsert, ChangeSuppression.fingerprint(upsert))
        }
        try suppression?.recordSent(written)
        unacknowledged.withLock { $0.subtract(written.map { Self.identity($0.upsert, fingerprint: $0.fingerprint) }) }
    }

    static func identity(_ upsert: CRMUpsert, fingerprint: String) -> String {
        "\(upsert.object)|\(upsert.externalId)|\(fingerprint)"
    }
}
