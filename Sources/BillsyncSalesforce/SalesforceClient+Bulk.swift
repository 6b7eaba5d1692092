import BillsyncContracts
import BillsyncCSV
import BillsyncRuntime
import Foundation

/// Bulk API 2.0 ingest jobs: for backfills, where one job of thousands of records costs a handful
/// of API calls instead of one call per 200.
extension SalesforceClient {
    /// The outcome of each record of a job, by external id; records Salesforce did not process
    /// are missing.
    public struct BulkOutcome: Sendable {
        public var outcomes: [String: RecordOutcome] = [:]
        public var calls = 0
    }

    /// A job that ended Failed or Aborted: its state, Salesforce's `errorMessage`, and the
    /// outcomes of the records it did process (the others were not processed).
    public struct BulkJobEnd: Sendable {
        public var job: String
        public var state: String
        public var errorMessage: String?
        public var outcome: BulkOutcome
    }

    /// The most bytes one job's upload carries: Bulk API 2.0 takes up to 150 MB of CSV per
    /// upload and recommends staying under 100 MB ("Bulk API 2.0 and Bulk API Limits"); records
    /// past it go into a further job.
    public static let uploadLimit = 100 << 20

    /// Upserts the records through as many jobs as their CSV needs (one per `uploadLimit`),
    /// one after the other; see `bulkJob`. External ids must be distinct.
    public func bulkUpsert(object: String, externalIdField: String, records: [CRMUpsert],
                           maximumWait: Duration = .seconds(3_600)) async throws -> BulkOutcome {
        let columns = [externalIdField] + Set(records.flatMap(\.fields.keys)).subtracting([externalIdField]).sorted()
        let header = CSVText.row(columns) + "\n"
        var uploads: [String] = []
        var csv = header
        for record in records {
            let row = CSVText.row([record.externalId] + columns.dropFirst().map { record.fields[$0].map(Self.bulkText) ?? "" }) + "\n"
            if csv.utf8.count + row.utf8.count > Self.uploadLimit, csv.utf8.count > header.utf8.count {
                uploads.append(csv)
                csv = header
            }
            csv += row
        }
        uploads.append(csv)
        var result = BulkOutcome()
        for upload in uploads {
            do {
                let job = try await bulkJob(object: object, externalIdField: externalIdField, csv: upload, maximumWait: maximumWait)
                result.outcomes.merge(job.outcomes) { _, new in new }
                result.calls += job.calls
            } catch SalesforceError.bulkJobEnded(var end) {
                // What the earlier jobs loaded goes back with the one that ended badly.
                end.outcome.outcomes.merge(result.outcomes) { ended, _ in ended }
                end.outcome.calls += result.calls
                throw SalesforceError.bulkJobEnded(end)
            }
        }
        return result
    }

    /// Creates an upsert job, uploads the CSV (once: Salesforce takes one upload per job),
    /// closes it, polls it until it ends (waiting `bulkPollInterval`, doubling to
    /// `bulkPollMaximum`, on `clock`) and reads its successful and failed results. Once the job
    /// is closed, a call about it that times out or is answered 5xx says nothing about the job,
    /// which Salesforce goes on processing: it is asked again until `maximumWait` has passed,
    /// never given up for a second job with the same records. A job that ends Failed or Aborted
    /// throws `SalesforceError.bulkJobEnded` with what it did process.
    func bulkJob(object: String, externalIdField: String, csv: String, maximumWait: Duration) async throws -> BulkOutcome {
        let create = try JSONSerialization.data(withJSONObject: [
            "object": object, "externalIdFieldName": externalIdField, "operation": "upsert", "contentType": "CSV", "lineEnding": "LF",
        ])
        let created = try await call("POST", "jobs/ingest", body: create, contentType: "application/json")
        guard created.status == 200, let job = ((try? JSONSerialization.jsonObject(with: created.data)) as? [String: Any])?["id"] as? String else {
            throw Self.failure(created)
        }
        let uploaded = try await call("PUT", "jobs/ingest/\(job)/batches", body: Data(csv.utf8), contentType: "text/csv")
        guard uploaded.status == 201 else { throw Self.failure(uploaded) }
        let closed = try await call("PATCH", "jobs/ingest/\(job)", body: Data(#"{"state":"UploadComplete"}"#.utf8), contentType: "application/json")
        guard closed.status == 200 else { throw Self.failure(closed) }
        var result = BulkOutcome(calls: 3)
        let deadline = clock.now.addingTimeInterval(maximumWait.timeInterval)
        let ended = try await waitForEnd(of: job, deadline: deadline, calls: &result.calls)
        let results = try await results(of: job, externalIdField: externalIdField, keepingCells: false, deadline: deadline, calls: &result.calls)
        result.outcomes = results.records.mapValues(\.outcome)
        guard ended.state == "JobComplete" else {
            throw SalesforceError.bulkJobEnded(BulkJobEnd(job: job, state: ended.state, errorMessage: ended.errorMessage, outcome: result))
        }
        return result
    }

    /// A job's results: each record's outcome by external id, and with `keepingCells` the row
    /// as the job held it (for matching a record delivered again against what the job loaded).
    public struct JobResults: Sendable {
        public struct Record: Sendable {
            public var outcome: RecordOutcome
            /// The record's cells, in `columns`' order.
            public var cells: [String]
        }

        /// The job's columns (its CSV header, the external id field among them).
        public var columns: [String] = []
        public var records: [String: Record] = [:]
    }

    /// Reads the successful and failed results of an ended job.
    func results(of job: String, externalIdField: String, keepingCells: Bool, deadline: Date, calls: inout Int) async throws -> JobResults {
        var results = JobResults()
        for (path, successful) in [("successfulResults", true), ("failedResults", false)] {
            let answer = try await callAboutClosedJob("jobs/ingest/\(job)/\(path)", accept: "text/csv", deadline: deadline, calls: &calls)
            guard answer.status == 200 else { throw Self.failure(answer) }
            var reader = CSVRecordReader(bytes: [UInt8](answer.body))
            guard case let .success(header)? = reader.next(), let keyColumn = header.fields.firstIndex(of: externalIdField) else { continue }
            results.columns = Array(header.fields.dropFirst(2))
            while case let .success(row)? = reader.next() {
                guard row.fields.count == header.fields.count else { continue }
                let outcome = successful
                    ? RecordOutcome(id: row.fields[0], created: row.fields[1] == "true", errors: [])
                    : RecordOutcome(id: nil, created: false, errors: Self.bulkErrors(row.fields[1]))
                results.records[row.fields[keyColumn]] = JobResults.Record(outcome: outcome, cells: keepingCells ? Array(row.fields.dropFirst(2)) : [])
            }
        }
        return results
    }

    /// The ingest jobs on `object` that have not ended (Open, UploadComplete, InProgress): those
    /// a loader left behind when it stopped while it uploaded or polled them, or that another
    /// replica is working on now.
    public func jobsNotEnded(object: String) async throws -> [(id: String, state: String)] {
        var found: [(id: String, state: String)] = []
        var path: String? = "jobs/ingest?jobType=V2Ingest"
        while let next = path {
            let answer = try await call("GET", next, body: nil, contentType: nil)
            guard answer.status == 200, let page = (try? JSONSerialization.jsonObject(with: answer.data)) as? [String: Any] else {
                throw Self.failure(answer)
            }
            for job in page["records"] as? [[String: Any]] ?? [] {
                guard job["object"] as? String == object, let id = job["id"] as? String, let state = job["state"] as? String,
                      !["JobComplete", "Failed", "Aborted"].contains(state) else { continue }
                found.append((id, state))
            }
            // nextRecordsUrl is a path from the host: the part after the API version is ours.
            path = (page["nextRecordsUrl"] as? String).flatMap { url in
                url.range(of: "/\(apiVersion)/").map { String(url[$0.upperBound...]) } ?? url.range(of: "jobs/ingest").map { String(url[$0.lowerBound...]) }
            }
        }
        return found
    }

    /// Waits for a closed job to end and reads its results with each record's cells. Throws
    /// for a job still Open (never closed: Salesforce will not process it).
    public func resultsOnceEnded(job: String, externalIdField: String, maximumWait: Duration = .seconds(3_600)) async throws -> JobResults {
        var calls = 0
        let deadline = clock.now.addingTimeInterval(maximumWait.timeInterval)
        _ = try await waitForEnd(of: job, deadline: deadline, calls: &calls)
        return try await results(of: job, externalIdField: externalIdField, keepingCells: true, deadline: deadline, calls: &calls)
    }

    /// Polls the job until it ends, waiting longer each time (each poll is an API call).
    func waitForEnd(of job: String, deadline: Date, calls: inout Int) async throws -> (state: String, errorMessage: String?) {
        var wait = bulkPollInterval
        while true {
            let status = try await callAboutClosedJob("jobs/ingest/\(job)", deadline: deadline, calls: &calls)
            guard status.status == 200 else { throw Self.failure(status) }
            let info = (try? JSONSerialization.jsonObject(with: status.data)) as? [String: Any]
            let state = info?["state"] as? String ?? ""
            if ["JobComplete", "Failed", "Aborted"].contains(state) { return (state, info?["errorMessage"] as? String) }
            guard clock.now < deadline else { throw SalesforceError.transient("bulk job \(job) did not finish in time") }
            try await clock.sleep(for: wait)
            wait = min(wait * 2, bulkPollMaximum)
        }
    }

    /// A GET about a job already closed. Refused for the concurrent request limit, it is repeated
    /// after `concurrencyBackoff`; lost to a timeout or a 5xx, after the poll wait (doubling),
    /// until `deadline`. Neither says anything about the job, so giving up would only start its
    /// records again in a second job while Salesforce still processes the first. Counts each
    /// answered call in `calls`.
    func callAboutClosedJob(_ path: String, accept: String = "application/json", deadline: Date, calls: inout Int) async throws -> Answer {
        var wait = bulkPollInterval
        while true {
            do {
                let answer = try await call("GET", path, body: nil, contentType: nil, accept: accept)
                calls += 1
                return answer
            } catch SalesforceError.concurrencyLimitExceeded {
                try await clock.sleep(for: concurrencyBackoff)
            } catch SalesforceError.transient(let message) {
                guard clock.now < deadline else { throw SalesforceError.transient("\(path): no answer before the deadline (\(message))") }
                try await clock.sleep(for: wait)
                wait = min(wait * 2, bulkPollMaximum)
            }
        }
    }

    /// `CODE:message:field,field --` (several separated by spaces) into record errors.
    static func bulkErrors(_ text: String) -> [CRMLoadResult.RecordError] {
        let errors = text.components(separatedBy: " --").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { entry in
            let parts = entry.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let code = String(parts.first ?? "UNKNOWN")
            let rest = parts.count > 1 ? String(parts[1]) : ""
            let fields: [String]
            let message: String
            if let last = rest.lastIndex(of: ":") {
                message = String(rest[..<last])
                fields = rest[rest.index(after: last)...].split(separator: ",").map(String.init)
            } else {
                message = rest
                fields = []
            }
            return CRMLoadResult.RecordError(code: code, message: message, fields: fields)
        }
        return errors.isEmpty ? [CRMLoadResult.RecordError(code: "UNKNOWN", message: text)] : errors
    }

    /// A value as Bulk API CSV writes it: `#N/A` empties a field, an empty cell leaves it alone.
    package static func bulkText(_ value: CRMFieldValue) -> String {
        switch value {
        case let .string(text): text
        case let .decimal(decimal): "\(decimal)"
        case let .bool(bool): bool ? "true" : "false"
        case .null: "#N/A"
        }
    }
}
