import BillsyncContracts
import BillsyncSalesforce
import BillsyncRuntime

/// What the sink's `load` and `loadInBulk` do about a refusal for the concurrent request limit
/// and about a Bulk API job that ended Failed or Aborted.
extension SalesforceSink {
    /// Waits `client.concurrencyBackoff` on the client's clock before the same call goes again:
    /// the concurrent request limit frees up as the org's long-running requests finish, so it
    /// is neither a pause nor an alert. False when the task was cancelled meanwhile.
    func backOffForConcurrency(_ message: String) async -> Bool {
        logger.notice("Salesforce refused a call for its concurrent request limit; sending it again shortly",
                      metadata: ["billsync.reason": "\(message)"])
        do {
            try await client.clock.sleep(for: client.concurrencyBackoff)
            return true
        } catch {
            return false
        }
    }

    /// A job that ended Failed or Aborted: the records it processed are answered as usual; the
    /// others go back to the runtime as transient, with the job's state and `errorMessage`, so
    /// the retry policy sends them again (in a new job or a Collections call).
    func answers(of end: SalesforceClient.BulkJobEnd, for records: [MergedUpsert]) -> [Answer] {
        logger.warning("bulk job ended without processing every record; those go back for the runtime's retry", metadata: [
            "billsync.job": "\(end.job)", "billsync.state": "\(end.state)", "billsync.reason": "\(end.errorMessage ?? "-")",
        ])
        let notProcessed = StageFailure.transient("sf.bulk.\(end.state)",
                                                  "the bulk job \(end.job) ended \(end.state) before processing this record: \(end.errorMessage ?? "no reason given")")
        return records.map { record in end.outcome.outcomes[record.upsert.externalId].map(Answer.record) ?? .failed(notProcessed) }
    }
}
