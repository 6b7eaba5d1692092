import BillsyncContracts
import BillsyncKafka
import BillsyncRuntime
import Synchronization

/// Turns upserts into outgoing messages, leaving out what need not be sent: an upsert whose
/// values Salesforce already holds by billsync's own load (`LoadedRecords`: change suppression
/// from load results, shared by every replica), or one identical to an upsert written and not
/// yet acknowledged (the runtime handles the next chunk while the broker acknowledges the
/// previous one).
public final class UpsertWriter: Sendable {
    /// Nil turns change suppression off: every upsert is sent.
    public let loaded: LoadedRecords?
    public let outputTopic: String
    let contracts: MessageContracts
    private let inFlight = Mutex(InFlight())

    struct InFlight {
        var fingerprints: Set<UpsertFingerprint> = []
        /// Each unacknowledged output (by a hash of its bytes, which carry a unique message id)
        /// and the upsert it carries, so an acknowledgement needs no second parse.
        var byOutput: [UInt64: UpsertFingerprint] = [:]
    }

    public init(loaded: LoadedRecords?, outputTopic: String, contracts: MessageContracts) {
        self.loaded = loaded
        self.outputTopic = outputTopic
        self.contracts = contracts
    }

    /// What one input yields, to be kept back from sending again once the input is written as a whole.
    public struct Pending {
        public var outputs: [OutgoingMessage] = []
        var fingerprints: [UpsertFingerprint] = []

        public init() {}
    }

    /// Adds an upsert derived from `envelope` to `pending`, unless it need not be sent. A
    /// `replayed` input (a backfill, a redrive) is sent even when unchanged: re-sending it is the point.
    public func add<Input: MessagePayload>(_ upsert: CRMUpsert, index: Int, businessKey: String? = nil,
                                           from envelope: MessageEnvelope<Input>, replayed: Bool = false, headers: [KafkaHeader] = [],
                                           to pending: inout Pending) throws {
        let fingerprint = upsert.fingerprint
        if !replayed, let loaded, loaded.isUnchanged(fingerprint) { return }
        guard !pending.fingerprints.contains(fingerprint), !inFlight.withLock({ $0.fingerprints.contains(fingerprint) }) else { return }
        pending.fingerprints.append(fingerprint)
        let derived = envelope.derived(businessKey: businessKey, index: index, payload: upsert)
        var output = try OutgoingMessage(topic: outputTopic, message: derived, contracts: contracts)
        output.headers += headers
        pending.outputs.append(output)
    }

    /// The input's outputs are final: hold them back from being sent again until acknowledged.
    public func commit(_ pending: Pending) -> [OutgoingMessage] {
        inFlight.withLock { inFlight in
            for (output, fingerprint) in zip(pending.outputs, pending.fingerprints) {
                inFlight.fingerprints.insert(fingerprint)
                inFlight.byOutput[StableHash.of(output.value)] = fingerprint
            }
        }
        return pending.outputs
    }

    /// The broker has these outputs: they are on their way to Salesforce, so the values loaded
    /// before them no longer count as what Salesforce holds.
    public func acknowledged(_ outputs: [OutgoingMessage]) {
        let written = inFlight.withLock { inFlight in
            outputs.compactMap { output -> UpsertFingerprint? in
                guard output.topic == outputTopic, let fingerprint = inFlight.byOutput.removeValue(forKey: StableHash.of(output.value))
                else { return nil }
                inFlight.fingerprints.remove(fingerprint)
                return fingerprint
            }
        }
        loaded?.sent(written)
    }
}
