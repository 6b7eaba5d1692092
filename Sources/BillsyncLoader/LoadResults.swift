import BillsyncContracts
import BillsyncRuntime
import Metrics

/// How every sink reports what it did with a record: a `crm-load-result` message derived from
/// the input (same lineage) for the results topic, counted in
/// `billsync_loader_records_total{sink,object,outcome}`.
struct LoadResults: Sendable {
    let sink: CRMLoadResult.Sink
    let topic: String
    let contracts: MessageContracts

    /// `counted: false` for a provisional failure that may still be retried (it is only written
    /// if it ends in the dead-letter topic, and counted there).
    func message<Payload: MessagePayload>(for message: ContractMessage<Payload>, object: String, externalIdField: String, externalId: String,
                                        outcome: CRMLoadResult.Outcome, recordId: String?, errors: [CRMLoadResult.RecordError] = [],
                                        counted: Bool = true, loaded: CRMUpsert? = nil) throws -> OutgoingMessage {
        if counted {
            Counter(label: "billsync_loader_records_total",
                    dimensions: [("sink", sink.rawValue), ("object", object), ("outcome", outcome.rawValue)]).increment()
        }
        let payload = CRMLoadResult(object: object, externalIdField: externalIdField, externalId: externalId, sink: sink,
                                    outcome: outcome, recordId: recordId, errors: errors, attempts: message.attempt, loaded: loaded)
        return try OutgoingMessage(topic: topic, message: message.envelope.derived(payload: payload), contracts: contracts)
    }

    /// The result of an upsert command.
    func message(for message: ContractMessage<CRMUpsert>, outcome: CRMLoadResult.Outcome, recordId: String?,
                 errors: [CRMLoadResult.RecordError] = [], counted: Bool = true) throws -> OutgoingMessage {
        let upsert = message.envelope.payload
        return try self.message(for: message, object: upsert.object, externalIdField: upsert.externalIdField, externalId: upsert.externalId,
                                outcome: outcome, recordId: recordId, errors: errors, counted: counted, loaded: upsert)
    }
}
