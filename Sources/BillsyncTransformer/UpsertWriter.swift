import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncRuntime
import Synchronization

/// Turns upserts into outgoing messages, leaving out what need not be sent: an upsert whose
/// values Salesforce already holds by billsync's own load (`LoadedRecords`: change suppression
/// from load results, shared by every replica), or one whose values are those of the latest
/// upsert written for its record's fields and not yet acknowledged (the runtime handles the next
/// chunk while the broker acknowledges the previous one).
///
/// Two steps, so that a chunk's inputs can be transformed side by side: `add` maps and encodes
/// (any thread, any order), `commit` decides what is sent, in the inputs' order. Deciding in
/// order is what keeps A→B→A right: the last A differs from the latest written (B), so it goes.
public final class UpsertWriter: Sendable {
    /// Nil turns change suppression off: every upsert is sent.
    public let loaded: LoadedRecords?
    public let outputTopic: String
    let contracts: MessageContracts
    private let inFlight = Mutex(InFlight())
    /// The tag of the latest output encoded: each output gets the next one.
    private let lastTag = Atomic<UInt64>(0)

    struct InFlight {
        /// Per record and field set (`UpsertFingerprint.key`): the values of the latest upsert
        /// written and how many written for it are not acknowledged yet.
        var latest: [UInt64: (value: UInt64, unacknowledged: Int)] = [:]
        /// Each unacknowledged output (by its `OutgoingMessage.tag`) and the upsert it carries, so
        /// an acknowledgement needs no second parse (and no hash of its bytes: that cost 3 % of
        /// the transformer's time).
        var byOutput: [UInt64: UpsertFingerprint] = [:]
    }

    public init(loaded: LoadedRecords?, outputTopic: String, contracts: MessageContracts) {
        self.loaded = loaded
        self.outputTopic = outputTopic
        self.contracts = contracts
    }

    /// What one input yields, to be decided on and kept back from sending again by `commit`.
    public struct Pending: Sendable {
        var candidates: [Candidate] = []

        public init() {}
    }

    struct Candidate: Sendable {
        let fingerprint: UpsertFingerprint
        let replayed: Bool
        let message: MessageEnvelope<CRMUpsert>
        /// The upsert's fields as JSON, built once for the fingerprint and the message.
        let fields: JSONValue
        let headers: [KafkaHeader]
        /// Encoded ahead, unless Salesforce held these values when it was added (then it is
        /// encoded only if `commit` finds a newer value on its way).
        var output: OutgoingMessage?
    }

    /// Adds an upsert derived from `envelope` to `pending`. A `replayed` input (a backfill, a
    /// redrive) is sent even when unchanged: re-sending it is the point. Safe from any thread.
    public func add<Input: MessagePayload>(_ upsert: CRMUpsert, index: Int, businessKey: String? = nil,
                                           from envelope: MessageEnvelope<Input>, replayed: Bool = false, headers: [KafkaHeader] = [],
                                           to pending: inout Pending) throws {
        let fields = upsert.fieldsJSONValue()
        let fingerprint = UpsertFingerprint(upsert, fields: fields)
        guard !pending.candidates.contains(where: { $0.fingerprint == fingerprint }) else { return }
        var candidate = Candidate(fingerprint: fingerprint, replayed: replayed,
                                  message: envelope.derived(businessKey: businessKey, index: index, payload: upsert), fields: fields,
                                  headers: headers)
        if replayed || !(loaded?.isUnchanged(fingerprint) ?? false) { candidate.output = try encode(candidate) }
        pending.candidates.append(candidate)
    }

    /// The input's outputs, final: what is sent of its upserts, held back from being sent again
    /// until acknowledged. Call in the inputs' order.
    public func commit(_ pending: Pending) throws -> [OutgoingMessage] {
        var chosen: [(message: OutgoingMessage, fingerprint: UpsertFingerprint)] = []
        for candidate in pending.candidates {
            let latest = inFlight.withLock { $0.latest[candidate.fingerprint.key]?.value }
            if !candidate.replayed {
                if let latest {
                    if latest == candidate.fingerprint.value { continue }
                } else if loaded?.isUnchanged(candidate.fingerprint) ?? false {
                    continue
                }
            }
            let output = try candidate.output ?? encode(candidate)
            chosen.append((output, candidate.fingerprint))
        }
        inFlight.withLock { inFlight in
            for (output, fingerprint) in chosen {
                let unacknowledged = inFlight.latest[fingerprint.key]?.unacknowledged ?? 0
                inFlight.latest[fingerprint.key] = (fingerprint.value, unacknowledged + 1)
                inFlight.byOutput[output.tag] = fingerprint
            }
        }
        return chosen.map(\.message)
    }

    /// The broker has these outputs: they are on their way to Salesforce, so the values loaded
    /// before them no longer count as what Salesforce holds.
    public func acknowledged(_ outputs: [OutgoingMessage]) {
        let tags = outputs.filter { $0.topic == outputTopic }.map(\.tag)
        let written = inFlight.withLock { inFlight in
            tags.compactMap { tag -> UpsertFingerprint? in
                guard let fingerprint = inFlight.byOutput.removeValue(forKey: tag) else { return nil }
                if let latest = inFlight.latest[fingerprint.key] {
                    inFlight.latest[fingerprint.key] = latest.unacknowledged > 1 ? (latest.value, latest.unacknowledged - 1) : nil
                }
                return fingerprint
            }
        }
        loaded?.sent(written)
    }

    private func encode(_ candidate: Candidate) throws -> OutgoingMessage {
        var output = try OutgoingMessage(topic: outputTopic, message: candidate.message,
                                         payloadJSON: candidate.message.payload.jsonValue(fields: candidate.fields), contracts: contracts)
        output.headers += candidate.headers
        output.tag = lastTag.wrappingAdd(1, ordering: .relaxed).newValue
        return output
    }
}
