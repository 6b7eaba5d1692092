import BillsyncContracts
import BillsyncKafka
import Synchronization

/// What Salesforce holds, as far as billsync loaded it: the latest successful load result of
/// each record and field set, taken from the compacted `crm.loaded` topic that the loader writes
/// with its results. Every replica reads all of it, so what one replica's upsert loaded, another
/// replica knows.
///
/// - The transformer suppresses an upsert only when exactly its values were *loaded* for its
///   record and fields, and nothing else was sent for them since. A value the loader
///   dead-lettered or Salesforce refused was never loaded, so it is sent again; A→B→A sends the
///   last A because B was loaded (or sent) in between.
/// - The loader asks whether a record exists (any of its field sets was loaded) before sending
///   a command that cannot create it.
///
/// 24 bytes a remembered field set (two 64-bit hashes in a dictionary), whatever the field names.
public final class LoadedRecords: Sendable {
    /// What a process needs from the table: the transformer compares values, the loader asks
    /// for existence; each keeps only that.
    public enum Use: Sendable { case suppression, existence }

    private struct State {
        var loaded: [UInt64: UInt64] = [:]
        /// Sent (acknowledged by the broker) and not yet seen loaded, by key.
        var sent: [UInt64: UInt64] = [:]
        var existing: Set<UInt64> = []
        var applied = 0
    }

    public let use: Use
    private let state = Mutex(State())

    public init(use: Use) {
        self.use = use
    }

    /// True when exactly these values were loaded for this record's fields and no other values
    /// were sent for them since (a newer change may be on its way to Salesforce).
    public func isUnchanged(_ fingerprint: UpsertFingerprint) -> Bool {
        state.withLock { state in
            guard state.loaded[fingerprint.key] == fingerprint.value else { return false }
            let sent = state.sent[fingerprint.key]
            return sent == nil || sent == fingerprint.value
        }
    }

    /// Upserts the broker acknowledged: until they are seen loaded, the record's older loaded
    /// value no longer says what Salesforce will hold.
    public func sent(_ fingerprints: some Sequence<UpsertFingerprint>) {
        guard use == .suppression else { return }
        state.withLock { state in
            for fingerprint in fingerprints {
                if state.loaded[fingerprint.key] == fingerprint.value {
                    state.sent[fingerprint.key] = nil
                } else {
                    state.sent[fingerprint.key] = fingerprint.value
                }
            }
        }
    }

    /// A successful load.
    public func loaded(_ fingerprint: UpsertFingerprint) {
        state.withLock { state in
            state.applied += 1
            switch use {
            case .suppression:
                state.loaded[fingerprint.key] = fingerprint.value
                if state.sent[fingerprint.key] == fingerprint.value { state.sent[fingerprint.key] = nil }
            case .existence:
                state.existing.insert(fingerprint.record)
            }
        }
    }

    /// Whether any load of this record succeeded.
    public func exists(object: String, externalId: String) -> Bool {
        let record = UpsertFingerprint.recordHash(object: object, externalId: externalId)
        return state.withLock { $0.existing.contains(record) }
    }

    /// Load results read from the topic (tombstones and failures are skipped).
    public func apply(_ messages: some Sequence<KafkaConsumerMessage>, contracts: MessageContracts) {
        for message in messages {
            guard let value = message.value, let result = try? contracts.decode(value, as: CRMLoadResult.self).payload,
                  let fingerprint = result.loadedFingerprint else { continue }
            loaded(fingerprint)
        }
    }

    /// Load results taken in so far (a test waits for it to reach what it wrote).
    public var appliedCount: Int { state.withLock { $0.applied } }
}
