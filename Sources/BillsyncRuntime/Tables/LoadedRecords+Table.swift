import BillsyncContracts

extension LoadedRecords {
    /// The loaded-records topic as a table: read whole before the stage starts, then followed,
    /// so what any replica's upserts loaded is known to every replica.
    public func table(topic: String, contracts: MessageContracts) -> CompactedTable {
        CompactedTable(topic: topic, follows: true) { [self] messages in
            apply(messages, contracts: contracts)
        }
    }
}
