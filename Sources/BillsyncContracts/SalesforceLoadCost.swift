/// What loading records into Salesforce costs in API calls, as the loader sends them: the
/// loader's defaults and the operator tool's estimates (a replay's dry run) come from here.
public enum SalesforceLoadCost {
    /// sObject Collections upsert takes at most 200 records per call (Salesforce's limit).
    public static let recordsPerCall = 200
    /// From this many records of one object in one batch on, the loader uses a Bulk API 2.0 job.
    public static let bulkThreshold = 5_000
    /// A Bulk API 2.0 job's calls at the least: create, upload, close, one status poll, the
    /// successful and the failed results.
    public static let callsPerBulkJob = 6

    /// The calls to upsert `records` of one object whose external ids occur `waves` times at most
    /// (a record whose external id is already in a call waits for the next one).
    public static func calls(records: Int, waves: Int = 1) -> Int {
        guard records > 0 else { return 0 }
        if records >= bulkThreshold { return callsPerBulkJob * max(1, waves) }
        let perWave = (records + recordsPerCall - 1) / recordsPerCall
        return max(perWave, waves)
    }
}
