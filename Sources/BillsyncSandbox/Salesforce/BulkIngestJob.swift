import Foundation

/// One Bulk API 2.0 ingest job and the transitions the documentation allows
/// (developer.salesforce.com, Bulk API 2.0 "Job States", "Upload Job Data", "Upload Complete",
/// "Abort a Job"): Open → UploadComplete → InProgress → JobComplete or Failed; Aborted from
/// any state that has not ended. One upload per job; results only once the job has ended.
struct BulkIngestJob: Sendable {
    enum State: String, Sendable {
        case open = "Open", uploadComplete = "UploadComplete", inProgress = "InProgress"
        case jobComplete = "JobComplete", failed = "Failed", aborted = "Aborted"

        var hasEnded: Bool { self == .jobComplete || self == .failed || self == .aborted }
    }

    var id: String
    var object: String
    var externalIdField: String
    var operation: String
    var state = State.open
    /// The one upload's CSV (Salesforce refuses a second PUT on a job).
    var csv: [UInt8]?
    var header: [String] = []
    var successful = BulkResultRows()
    var failed = BulkResultRows()
    var unprocessed: [[String]] = []
    /// Why a Failed job failed, as Get Job Info reports it.
    var errorMessage: String?
    let created = Date()

    init(id: String, object: String, externalIdField: String, operation: String) {
        self.id = id
        self.object = object
        self.externalIdField = externalIdField
        self.operation = operation
    }

    /// A second upload, or one to a job that is no longer Open, as Salesforce refuses it.
    func refusalOfUpload() -> SalesforceError? {
        guard state == .open else {
            return SalesforceError("INVALIDJOBSTATE", "Job \(id) is \(state.rawValue): job data can only be uploaded to an Open job")
        }
        guard csv == nil else {
            return SalesforceError("BULK_API_ERROR", "Found multiple contents for job: <\(id)>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.")
        }
        return nil
    }

    /// Closing needs an Open job; aborting, one that has not ended. A job that ended cannot be
    /// closed (processed) again.
    func refusalOfChange(to target: State) -> SalesforceError? {
        switch target {
        case .uploadComplete where state == .open, .aborted where !state.hasEnded:
            return nil
        case .uploadComplete, .aborted:
            return SalesforceError("INVALIDJOBSTATE", "Job \(id) is \(state.rawValue) and cannot be changed to \(target.rawValue)")
        default:
            return SalesforceError("INVALIDJOBSTATE", "state must be UploadComplete or Aborted")
        }
    }

    /// Successful, failed and unprocessed records are served for a job that has ended.
    func refusalOfResults() -> SalesforceError? {
        state.hasEnded ? nil : SalesforceError("INVALIDJOBSTATE", "Job \(id) is \(state.rawValue): results are available once it has ended")
    }

    /// The job's rows as uploaded (header aside), for the unprocessed records of a job aborted
    /// or failed before it processed them.
    var uploadedRows: (header: [String], rows: [[String]])? {
        guard let csv else { return nil }
        var reader = BulkCSV(bytes: csv)
        return reader.table()
    }

    var info: [String: BulkIngestJobs.JobValue] {
        var info: [String: BulkIngestJobs.JobValue] = [
            "id": .text(id), "operation": .text(operation), "object": .text(object), "state": .text(state.rawValue),
            "externalIdFieldName": .text(externalIdField), "contentType": .text("CSV"), "apiVersion": .number(61.0),
            "lineEnding": .text("LF"), "columnDelimiter": .text("COMMA"), "concurrencyMode": .text("Parallel"),
            "jobType": .text("V2Ingest"), "createdById": .text("005000000000001AAA"),
            "createdDate": .text(created.formatted(.iso8601)), "systemModstamp": .text(Date().formatted(.iso8601)),
            "numberRecordsProcessed": .number(Double(successful.count + failed.count)),
            "numberRecordsFailed": .number(Double(failed.count)),
        ]
        if state == .open { info["contentUrl"] = .text("services/data/v61.0/jobs/ingest/\(id)/batches") }
        if let errorMessage { info["errorMessage"] = .text(errorMessage) }
        return info
    }
}

/// A job's successful or failed rows as its results resource serves them: counted, and kept as
/// CSV text rather than arrays of strings, so a large run's jobs cost the emulator about what
/// their results weigh.
struct BulkResultRows: Sendable {
    private(set) var count = 0
    private(set) var csv = ""

    mutating func append(_ row: [String]) {
        csv += BulkIngestJobs.csvLine(row)
        count += 1
    }
}
