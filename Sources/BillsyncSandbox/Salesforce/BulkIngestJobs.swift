import BillsyncCSV
import Foundation
import Synchronization

/// Bulk API 2.0 ingest jobs: created Open, CSV uploaded, closed with UploadComplete, then
/// processed into per-row successful and failed results, as Salesforce reports them.
final class BulkIngestJobs: Sendable {
    struct Job: Sendable {
        var id: String
        var object: String
        var externalIdField: String
        var operation: String
        var state = "Open"
        var csv: [UInt8] = []
        var successful: [[String]] = []
        var failed: [[String]] = []
        var header: [String] = []
        let created = Date()

        var info: [String: JobValue] {
            [
                "id": .text(id), "operation": .text(operation), "object": .text(object), "state": .text(state),
                "externalIdFieldName": .text(externalIdField), "contentType": .text("CSV"), "apiVersion": .number(61.0),
                "lineEnding": .text("LF"), "columnDelimiter": .text("COMMA"), "concurrencyMode": .text("Parallel"),
                "jobType": .text("V2Ingest"), "createdById": .text("005000000000001AAA"),
                "createdDate": .text(created.formatted(.iso8601)), "systemModstamp": .text(Date().formatted(.iso8601)),
                "numberRecordsProcessed": .number(Double(successful.count + failed.count)),
                "numberRecordsFailed": .number(Double(failed.count)),
            ]
        }
    }

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

    private let jobs = Mutex<[String: Job]>([:])
    private let sequence = Atomic<Int64>(1)

    func create(object: String, externalIdField: String, operation: String) -> Job {
        let id = SalesforceID.make(prefix: "750", sequence: sequence.add(1, ordering: .relaxed).oldValue)
        let job = Job(id: id, object: object, externalIdField: externalIdField, operation: operation)
        jobs.withLock { $0[id] = job }
        return job
    }

    func job(_ id: String) -> Job? { jobs.withLock { $0[id] } }

    /// Appends CSV data to an open job; false when the job is unknown or no longer open.
    func upload(_ id: String, data: [UInt8]) -> Bool {
        jobs.withLock { jobs in
            guard var job = jobs[id], job.state == "Open" else { return false }
            // A second upload's header line is dropped, as its columns must match the first.
            if job.csv.isEmpty {
                job.csv = data
            } else if let firstBreak = data.firstIndex(of: 0x0A) {
                job.csv += data[(firstBreak + 1)...]
            }
            jobs[id] = job
            return true
        }
    }

    func setState(_ id: String, _ state: String) -> Job? {
        jobs.withLock { jobs in
            guard var job = jobs[id] else { return nil }
            job.state = state
            jobs[id] = job
            return job
        }
    }

    /// Upserts every row, 200 at a time, and records each row's outcome.
    func process(_ id: String, store: SalesforceRecordStore, lockFails: () -> Bool) throws {
        guard var job = job(id), let object = store.org.objects[job.object] else { return }
        var reader = CSVRecordReader(bytes: job.csv)
        guard case let .success(headerRecord)? = reader.next() else {
            job.state = "Failed"
            jobs.withLock { $0[id] = job }
            return
        }
        job.header = headerRecord.fields
        var rows: [[String]] = []
        while let next = reader.next() {
            if case let .success(record) = next, record.fields != [""] { rows.append(record.fields) }
        }
        for chunk in stride(from: 0, to: rows.count, by: SalesforceEmulator.collectionLimit).map({ rows[$0..<min($0 + SalesforceEmulator.collectionLimit, rows.count)] }) {
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
                    job.failed.append(["", Self.describe([conversionError])] + row)
                } else if let external {
                    if lockFails() {
                        job.failed.append(["", Self.describe([SalesforceError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")])] + row)
                    } else {
                        prepared.append((row, external, fields))
                    }
                } else {
                    job.failed.append(["", Self.describe([SalesforceError("MISSING_ARGUMENT", "\(job.externalIdField) not specified", fields: [job.externalIdField])])] + row)
                }
            }
            let outcomes = try store.upsertAll(object: job.object, externalField: job.externalIdField,
                                               records: prepared.map { ($0.value, $0.fields) }, allOrNone: false)
            for (item, outcome) in zip(prepared, outcomes) {
                switch outcome {
                case let .created(id): job.successful.append([id, "true"] + item.row)
                case let .updated(id): job.successful.append([id, "false"] + item.row)
                case let .failed(errors): job.failed.append(["", Self.describe(errors)] + item.row)
                case let .notFound(error): job.failed.append(["", Self.describe([error])] + item.row)
                case let .multipleMatches(ids):
                    job.failed.append(["", "DUPLICATE_EXTERNAL_ID:external id matches \(ids.count) records:\(job.externalIdField) --"] + item.row)
                }
            }
        }
        job.state = "JobComplete"
        jobs.withLock { $0[id] = job }
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

    /// Salesforce's `sf__Error` format: `CODE:message:field,field --`.
    static func describe(_ errors: [SalesforceError]) -> String {
        errors.map { "\($0.errorCode):\($0.message):\($0.fields.joined(separator: ",")) --" }.joined(separator: " ")
    }

    static func resultsCSV(header: [String], rows: [[String]]) -> String {
        func quote(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        return ([header] + rows).map { $0.map(quote).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }
}
