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

    /// Creates an upsert job, uploads the records as CSV (once: Salesforce takes one upload per
    /// job), closes it, polls it until it ends (waiting `bulkPollInterval`, doubling to
    /// `bulkPollMaximum`, on `clock`) and reads its successful and failed results. External ids
    /// must be distinct within a job. A job that ends Failed or Aborted throws
    /// `SalesforceError.bulkJobEnded` with what it did process.
    public func bulkUpsert(object: String, externalIdField: String, records: [CRMUpsert],
                           maximumWait: Duration = .seconds(3_600)) async throws -> BulkOutcome {
        let columns = [externalIdField] + Set(records.flatMap(\.fields.keys)).subtracting([externalIdField]).sorted()
        var csv = CSVText.row(columns) + "\n"
        for record in records {
            csv += CSVText.row([record.externalId] + columns.dropFirst().map { record.fields[$0].map(Self.bulkText) ?? "" }) + "\n"
        }
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
        let ended = try await waitForEnd(of: job, maximumWait: maximumWait, calls: &result.calls)
        for (path, successful) in [("successfulResults", true), ("failedResults", false)] {
            let answer = try await callOutlastingConcurrency("GET", "jobs/ingest/\(job)/\(path)", accept: "text/csv")
            result.calls += 1
            guard answer.status == 200 else { throw Self.failure(answer) }
            var reader = CSVRecordReader(bytes: [UInt8](answer.body))
            guard case let .success(header)? = reader.next(), let keyColumn = header.fields.firstIndex(of: externalIdField) else { continue }
            while case let .success(row)? = reader.next() {
                guard row.fields.count == header.fields.count else { continue }
                let key = row.fields[keyColumn]
                if successful {
                    result.outcomes[key] = RecordOutcome(id: row.fields[0], created: row.fields[1] == "true", errors: [])
                } else {
                    result.outcomes[key] = RecordOutcome(id: nil, created: false, errors: Self.bulkErrors(row.fields[1]))
                }
            }
        }
        guard ended.state == "JobComplete" else {
            throw SalesforceError.bulkJobEnded(BulkJobEnd(job: job, state: ended.state, errorMessage: ended.errorMessage, outcome: result))
        }
        return result
    }

    /// Polls the job until it ends, waiting longer each time (each poll is an API call); a poll
    /// refused for the concurrent request limit is repeated after `concurrencyBackoff`.
    func waitForEnd(of job: String, maximumWait: Duration, calls: inout Int) async throws -> (state: String, errorMessage: String?) {
        let deadline = clock.now.addingTimeInterval(maximumWait.timeInterval)
        var wait = bulkPollInterval
        while true {
            let status = try await callOutlastingConcurrency("GET", "jobs/ingest/\(job)")
            calls += 1
            guard status.status == 200 else { throw Self.failure(status) }
            let info = (try? JSONSerialization.jsonObject(with: status.data)) as? [String: Any]
            let state = info?["state"] as? String ?? ""
            if ["JobComplete", "Failed", "Aborted"].contains(state) { return (state, info?["errorMessage"] as? String) }
            guard clock.now < deadline else { throw SalesforceError.transient("bulk job \(job) did not finish in time") }
            try await clock.sleep(for: wait)
            wait = min(wait * 2, bulkPollMaximum)
        }
    }

    /// A call of a job already closed: refused for the concurrent request limit, it is repeated
    /// after a brief backoff rather than given up (giving up would start the records again in a
    /// second job while Salesforce still processes the first).
    func callOutlastingConcurrency(_ method: String, _ path: String, accept: String = "application/json") async throws -> Answer {
        while true {
            do {
                return try await call(method, path, body: nil, contentType: nil, accept: accept)
            } catch SalesforceError.concurrencyLimitExceeded {
                try await clock.sleep(for: concurrencyBackoff)
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
    static func bulkText(_ value: CRMFieldValue) -> String {
        switch value {
        case let .string(text): text
        case let .decimal(decimal): "\(decimal)"
        case let .bool(bool): bool ? "true" : "false"
        case .null: "#N/A"
        }
    }
}
