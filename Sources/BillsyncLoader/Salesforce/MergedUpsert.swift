import BillsyncContracts
import BillsyncRuntime

/// Commands of one batch for the same record (object and external id, the id compared
/// case-insensitively as Salesforce matches it) sent as one: an account's fields and its bill's
/// fields reach Salesforce in one upsert, so neither waits for the other, and a record is never
/// twice in one request (Salesforce refuses that as DUPLICATE_VALUE). Fields are taken in arrival
/// order, so where two commands set one field the later change stays.
struct MergedUpsert {
    var upsert: CRMUpsert
    /// The batch positions of the commands merged, in arrival order.
    var members: [Int]

    /// The batch's commands merged per record, grouped by object and external-id field, each
    /// group in the order its first command arrived.
    static func merge(_ batch: [ContractMessage<CRMUpsert>], positions: [Int]? = nil) -> [[MergedUpsert]] {
        var groups: [[MergedUpsert]] = []
        var groupIndex: [String: Int] = [:]
        var recordIndex: [String: (group: Int, record: Int)] = [:]
        for position in positions ?? Array(batch.indices) {
            let command = batch[position].envelope.payload
            let groupKey = "\(command.object)|\(command.externalIdField)"
            let recordKey = "\(groupKey)|\(command.externalId.lowercased())"
            if let (group, record) = recordIndex[recordKey] {
                groups[group][record].upsert.fields.merge(command.fields) { _, later in later }
                groups[group][record].members.append(position)
                continue
            }
            let group = groupIndex[groupKey] ?? {
                groups.append([])
                groupIndex[groupKey] = groups.count - 1
                return groups.count - 1
            }()
            groups[group].append(MergedUpsert(upsert: command, members: [position]))
            recordIndex[recordKey] = (group, groups[group].count - 1)
        }
        return groups
    }
}
