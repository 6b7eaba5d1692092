import Foundation
import Synchronization

/// Bulk API 2.0 ingest jobs of the emulated org. Each job follows `BulkIngestJob`'s state
/// machine; status polls move a closed job along (`bulkPollsPerState` polls in each state), and
/// it is processed when it leaves InProgress: rows upserted 200 at a time, each row's outcome
/// recorded as Salesforce reports it.
final class BulkIngestJobs: Sendable {
    enum JobValue: Encodable {
        case text(String)
        case number(Double)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case let .text(text): try container.encode(text)
            case let .number(number): try container.encode(number)
            }
        }
    }

    /// What a request about a job comes to.
    enum Answer {
        case job(BulkIngestJob)
        case notFound
        case refused(SalesforceError)
    }

    private let jobs = Mutex<[String: BulkIngestJob]>([:])
    private let sequence = Atomic<Int64>(1)

    func create(object: String, externalIdField: String, operation: String) -> BulkIngestJob {
        let id = SalesforceID.make(prefix: "750", sequence: sequence.add(1, ordering: .relaxed).oldValue)
        let job = BulkIngestJob(id: id, object: object, externalIdField: externalIdField, operation: operation)
        jobs.withLock { $0[id] = job }
        return job
    }

    func job(_ id: String) -> BulkIngestJob? { jobs.withLock { $0[id] } }

    /// Every job's id and state (read-back for tests, outside the emulated API).
    var states: [(id: String, state: String)] {
        jobs.withLock { $0.values.sorted { $0.id < $1.id }.map { ($0.id, $0.state.rawValue) } }
    }

    /// The job's one upload.
    func upload(_ id: String, data: [UInt8]) -> Answer {
        change(id) { job in
            if let refusal = job.refusalOfUpload() { return refusal }
            job.csv = data
            return nil
        }
    }

    /// Closes (UploadComplete) or aborts the job, when its state allows it.
    func setState(_ id: String, _ name: String) -> Answer {
        change(id) { job in
            guard let target = BulkIngestJob.State(rawValue: name) else { return job.refusalOfChange(to: .jobComplete) }
            if let refusal = job.refusalOfChange(to: target) { return refusal }
            job.state = target
            job.pollsInState = 0
            if target == .aborted {
                // Nothing of an aborted job is processed: every uploaded row is unprocessed.
                let uploaded = job.uploadedRows
                job.header = uploaded?.header ?? []
                job.unprocessed = uploaded?.rows ?? []
            }
            return nil
        }
    }

    /// A status poll: moves a closed job on once it has been seen `pace` times in its state
    /// (processing it when it leaves InProgress), then answers its state.
    func poll(_ id: String, pace: Int, process: (inout BulkIngestJob) throws -> Void) rethrows -> BulkIngestJob? {
        guard var job = job(id) else { return nil }
        while job.state == .uploadComplete || job.state == .inProgress, job.pollsInState >= pace {
            job.pollsInState = 0
            if job.state == .uploadComplete {
                job.state = .inProgress
            } else {
                try process(&job)
            }
        }
        job.pollsInState += 1
        // A job aborted meanwhile stays aborted.
        return jobs.withLock { jobs in
            if jobs[id]?.state == .aborted { return jobs[id] }
            jobs[id] = job
            return job
        }
    }

    private func change(_ id: String, _ body: (inout BulkIngestJob) -> SalesforceError?) -> Answer {
        jobs.withLock { jobs in
            guard var job = jobs[id] else { return .notFound }
            if let refusal = body(&job) { return .refused(refusal) }
            jobs[id] = job
            return .job(job)
        }
    }

    /// Salesforce's `sf__Error` format: `CODE:message:field,field --`.
    static func describe(_ errors: [SalesforceError]) -> String {
        errors.map { "\($0.errorCode):\($0.message):\($0.fields.joined(separator: ",")) --" }.joined(separator: " ")
    }

    static func resultsCSV(header: [String], rows: [[String]]) -> String {
        func quote(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        return ([header] + rows).map { $0.map(quote).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }
}
