import BillsyncContracts
import BillsyncSalesforce
import Logging

/// Bulk jobs a loader left behind. A loader that stops (a deploy, a crash, a rescheduled pod)
/// while it polls a job has not committed the job's records, so they are delivered again; sent
/// in a second job, they would be loaded again while Salesforce may still be loading the first.
/// Salesforce remembers the jobs, so nothing needs keeping on a disk: at its first Bulk load of
/// an object, a loader asks for that object's jobs that have not ended, waits for those that
/// were closed, and answers each record delivered again that such a job holds, with the same
/// cells, from that job's results. Jobs still Open were never closed and will not be processed:
/// their records go into a new job as usual.
///
/// With several replicas, a job may be another live replica's: reading its results changes
/// nothing for that replica, and records it does not hold are uploaded as usual.
actor BulkResumption {
    private var asked: Set<String> = []
    /// Per object: records of left jobs, by external id, until a delivery takes them.
    private var left: [String: [String: (columns: [String], record: SalesforceClient.JobResults.Record)]] = [:]

    /// The outcomes of `records` (one object, one external id field) that a left job loaded
    /// exactly as they are now, by external id; each is handed out once.
    func outcomes(for records: [CRMUpsert], object: String, externalIdField: String, client: SalesforceClient,
                  logger: Logger) async -> [String: SalesforceClient.RecordOutcome] {
        if !asked.contains(object) {
            asked.insert(object)
            await gather(object: object, externalIdField: externalIdField, client: client, logger: logger)
        }
        guard var held = left[object], !held.isEmpty else { return [:] }
        var found: [String: SalesforceClient.RecordOutcome] = [:]
        for upsert in records {
            guard let (columns, record) = held[upsert.externalId] else { continue }
            let cells = columns.map { column in
                column == externalIdField ? upsert.externalId : upsert.fields[column].map(SalesforceClient.bulkText) ?? ""
            }
            // The same change: every field it sets was a column of the job, with the same value.
            guard cells == record.cells, Set(upsert.fields.keys).subtracting(columns).isEmpty else { continue }
            found[upsert.externalId] = record.outcome
            held[upsert.externalId] = nil
        }
        left[object] = held
        return found
    }

    private func gather(object: String, externalIdField: String, client: SalesforceClient, logger: Logger) async {
        let jobs: [(id: String, state: String)]
        do {
            jobs = try await client.jobsNotEnded(object: object)
        } catch {
            logger.warning("the org's Bulk jobs could not be listed; records delivered again go into new jobs",
                           metadata: ["billsync.object": "\(object)", "billsync.error": "\(error)"])
            return
        }
        for job in jobs where job.state != "Open" {
            do {
                let results = try await client.resultsOnceEnded(job: job.id, externalIdField: externalIdField)
                for (key, record) in results.records { left[object, default: [:]][key] = (results.columns, record) }
                logger.notice("resumed a Bulk job left by an earlier loader", metadata: [
                    "billsync.object": "\(object)", "billsync.job": "\(job.id)", "billsync.records": "\(results.records.count)",
                ])
            } catch {
                logger.warning("a Bulk job left by an earlier loader could not be read; its records go into a new job",
                               metadata: ["billsync.job": "\(job.id)", "billsync.error": "\(error)"])
            }
        }
    }
}
