import Foundation

/// Processing a closed Bulk API 2.0 job, as "Understanding Bulk API 2.0 Ingest" describes it:
/// data that cannot be read, or a column that is not a field of the object, fails the job with
/// nothing processed; rows past the rolling daily record allowance are not processed and the
/// job fails; otherwise every row is upserted and its outcome recorded. `BulkIngestJobs` runs it
/// batch by batch in the background.
struct BulkIngestProcessing: Sendable {
    let store: SalesforceRecordStore
    let lockFails: @Sendable () -> Bool
    /// Takes up to the asked number of records from the daily allowance; returns what it granted.
    let allowance: @Sendable (Int) -> Int

    /// The job's rows as uploaded, its header kept on the job; nil when the job failed with
    /// nothing processed (data it cannot read, a column that is not a field of the object).
    func rows(of job: inout BulkIngestJob) -> [[String]]? {
        guard let object = store.org.objects[job.object] else {
            fail(&job, "InvalidJob : no such object \(job.object)", processed: 0)
            return nil
        }
        var reader = BulkCSV(bytes: job.csv ?? [])
        switch reader.strictTable() {
        case let .success(table):
            job.header = table.header
            if let unknown = table.header.first(where: { $0 != job.externalIdField && object.fields[$0] == nil }) {
                fail(&job, "InvalidBatch : Field name not found : \(unknown)", processed: 0)
                return nil
            }
            return table.rows
        case let .failure(unreadable):
            fail(&job, unreadable.message, processed: 0)
            return nil
        }
    }

    /// One internal batch: its rows upserted 200 at a time, each row's outcome recorded. Rows
    /// past the daily allowance are not processed, nor are `remaining`: the job fails.
    func process(_ batch: ArraySlice<[String]>, remaining: ArraySlice<[String]>, into job: inout BulkIngestJob) throws {
        guard let object = store.org.objects[job.object] else { return }
        let granted = allowance(batch.count)
        let rows = batch.prefix(granted)
        for start in stride(from: rows.startIndex, to: rows.endIndex, by: SalesforceEmulator.collectionLimit) {
            try upsert(rows[start..<min(start + SalesforceEmulator.collectionLimit, rows.endIndex)], of: object, into: &job)
        }
        guard granted < batch.count else { return }
        job.unprocessed = Array(batch.dropFirst(granted)) + remaining
        job.state = .failed
        let processed = job.successful.count + job.failed.count
        job.errorMessage = "ExceededQuota : the Bulk API's record allowance for the last 24 hours was reached after \(processed) of \(processed + job.unprocessed.count) records; \(job.unprocessed.count) were not processed"
    }

    /// Fails the job; the uploaded rows from `processed` on are unprocessed.
    func fail(_ job: inout BulkIngestJob, _ message: String, processed: Int) {
        job.state = .failed
        job.errorMessage = message
        let uploaded = job.uploadedRows
        job.header = uploaded?.header ?? []
        job.unprocessed = Array((uploaded?.rows ?? []).dropFirst(processed))
    }

    private func upsert(_ chunk: ArraySlice<[String]>, of object: SalesforceOrg.Object, into job: inout BulkIngestJob) throws {
        var prepared: [(row: [String], value: String, fields: [String: SalesforceValue])] = []
        for row in chunk {
            var fields: [String: SalesforceValue] = [:]
            var external: String?
            var conversionError: SalesforceError?
            for (name, text) in zip(job.header, row) where !text.isEmpty {
                if name == job.externalIdField { external = text; continue }
                // An empty cell leaves a field as it is; #N/A empties it.
                if text == "#N/A" { fields[name] = .null; continue }
                switch Self.convert(text, for: object.fields[name]) {
                case let .success(value): fields[name] = value
                case let .failure(error): conversionError = error
                }
            }
            if let conversionError {
                job.failed.append(["", BulkIngestJobs.describe([conversionError])] + row)
            } else if let external {
                if lockFails() {
                    job.failed.append(["", BulkIngestJobs.describe([SalesforceError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")])] + row)
                } else {
                    prepared.append((row, external, fields))
                }
            } else {
                job.failed.append(["", BulkIngestJobs.describe([SalesforceError("MISSING_ARGUMENT", "\(job.externalIdField) not specified", fields: [job.externalIdField])])] + row)
            }
        }
        let outcomes = try store.upsertAll(object: job.object, externalField: job.externalIdField,
                                           records: prepared.map { ($0.value, $0.fields) }, allOrNone: false)
        for (item, outcome) in zip(prepared, outcomes) {
            switch outcome {
            case let .created(id): job.successful.append([id, "true"] + item.row)
            case let .updated(id): job.successful.append([id, "false"] + item.row)
            case let .failed(errors): job.failed.append(["", BulkIngestJobs.describe(errors)] + item.row)
            case let .notFound(error): job.failed.append(["", BulkIngestJobs.describe([error])] + item.row)
            case let .multipleMatches(ids):
                job.failed.append(["", "DUPLICATE_EXTERNAL_ID:external id matches \(ids.count) records:\(job.externalIdField) --"] + item.row)
            }
        }
    }

    /// A CSV value as the field's type.
    static func convert(_ text: String, for field: SalesforceOrg.Field?) -> Result<SalesforceValue, SalesforceError> {
        guard let field else { return .success(.text(text)) }
        switch field.type {
        case .currency, .number:
            guard let number = Double(text) else {
                return .failure(SalesforceError("INVALID_TYPE_ON_FIELD_IN_RECORD", "\(field.name): value not of required type: \(text)", fields: [field.name]))
            }
            return .success(.number(number))
        case .checkbox:
            return .success(.bool(["true", "1"].contains(text.lowercased())))
        default:
            return .success(.text(text))
        }
    }
}
