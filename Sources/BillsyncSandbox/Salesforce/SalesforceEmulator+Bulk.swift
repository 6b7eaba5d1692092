import Foundation
import HTTPTypes
import Hummingbird

extension SalesforceEmulator {
    /// Bulk API 2.0 ingest: create a job, upload its CSV once, close it, poll it until it ends,
    /// read its successful, failed and unprocessed records. Refusals follow `BulkIngestJob`.
    func addBulkRoutes(to router: Router<BasicRequestContext>) {
        router.post("services/data/:version/jobs/ingest") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            return await api(request, .bulkCreate) { usage in
                struct Create: Decodable {
                    var object: String
                    var externalIdFieldName: String?
                    var operation: String
                    var contentType: String?
                    var lineEnding: String?
                    var columnDelimiter: String?
                }
                guard let create = try? JSONDecoder().decode(Create.self, from: Data(buffer: body)) else {
                    return json(.badRequest, [SalesforceError("JSON_PARSER_ERROR", "The request body is not valid")], usage: usage)
                }
                guard (create.contentType ?? "CSV") == "CSV", ["LF", "CRLF"].contains(create.lineEnding ?? "LF"),
                      (create.columnDelimiter ?? "COMMA") == "COMMA" else {
                    return json(.badRequest, [SalesforceError("INVALIDJOB", "Only CSV with COMMA delimiters and LF or CRLF line endings is emulated")], usage: usage)
                }
                guard create.operation == "upsert", let field = create.externalIdFieldName else {
                    return json(.badRequest, [SalesforceError("INVALIDJOB", "Only upsert with an externalIdFieldName is emulated")], usage: usage)
                }
                guard store.org.objects[create.object]?.fields[field]?.externalID == true else {
                    return json(.badRequest, [SalesforceError("INVALIDJOB", "InvalidJob : External ID field \(field) is not valid for \(create.object)")], usage: usage)
                }
                return json(.ok, bulk.create(object: create.object, externalIdField: field, operation: "upsert").info, usage: usage)
            }
        }
        // Get Information About All Jobs: a page of up to 1,000 jobs, oldest first, with
        // `nextRecordsUrl` naming the next page (`queryLocator`).
        router.get("services/data/:version/jobs/ingest") { request, context in
            await api(request, .bulkPoll) { usage in
                let jobType = request.uri.queryParameters["jobType"].map(String.init)
                let start = request.uri.queryParameters["queryLocator"].flatMap { Int(String($0)) } ?? 0
                // Every job here is a V2Ingest job: another type asked for lists none.
                let all = jobType == nil || jobType == "V2Ingest" ? bulk.all : []
                let page = all.dropFirst(start).prefix(1_000)
                let next = start + page.count < all.count
                    ? "/services/data/\(try context.parameters.require("version"))/jobs/ingest?queryLocator=\(start + page.count)" : nil
                return json(.ok, BulkJobList(done: next == nil, records: page.map(\.info), nextRecordsUrl: next), usage: usage)
            }
        }
        router.put("services/data/:version/jobs/ingest/:job/batches") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 150 << 20)
            return await api(request, .bulkUpload) { usage in
                switch bulk.upload(try context.parameters.require("job"), data: Array(buffer: body)) {
                case .job: return Response(status: .created, headers: [HTTPField.Name("Sforce-Limit-Info")!: "api-usage=\(usage.used)/\(usage.limit)"])
                case .notFound: return json(.notFound, [SalesforceError("NOT_FOUND", "Job not found")], usage: usage)
                case let .refused(error): return json(.badRequest, [error], usage: usage)
                }
            }
        }
        router.patch("services/data/:version/jobs/ingest/:job") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            return await api(request, .bulkState) { usage in
                struct Change: Decodable { var state: String }
                guard let change = try? JSONDecoder().decode(Change.self, from: Data(buffer: body)) else {
                    return json(.badRequest, [SalesforceError("INVALIDJOBSTATE", "state must be UploadComplete or Aborted")], usage: usage)
                }
                switch bulk.setState(try context.parameters.require("job"), change.state) {
                case let .job(job): return json(.ok, job.info, usage: usage)
                case .notFound: return json(.notFound, [SalesforceError("NOT_FOUND", "Job not found")], usage: usage)
                case let .refused(error): return json(.badRequest, [error], usage: usage)
                }
            }
        }
        router.get("services/data/:version/jobs/ingest/:job") { request, context in
            if bulk.stallsPoll(try context.parameters.require("job"), stalls: state.configuration.bulkPollStalls) {
                try? await Task.sleep(for: state.configuration.bulkPollStall)
            }
            return await api(request, .bulkPoll) { usage in
                // Processing runs in the background: a poll only reads where the job is.
                guard let job = bulk.job(try context.parameters.require("job")) else {
                    return json(.notFound, [SalesforceError("NOT_FOUND", "Job not found")], usage: usage)
                }
                return json(.ok, job.info, usage: usage)
            }
        }
        for path in ["successfulResults", "failedResults", "unprocessedrecords", "unprocessedRecords"] {
            router.get("services/data/:version/jobs/ingest/:job/\(path)") { request, context in
                await api(request, .bulkResults) { usage in
                    guard let job = bulk.job(try context.parameters.require("job")) else {
                        return json(.notFound, [SalesforceError("NOT_FOUND", "Job not found")], usage: usage)
                    }
                    if let refusal = job.refusalOfResults() { return json(.badRequest, [refusal], usage: usage) }
                    let csv = switch path {
                    case "successfulResults": BulkIngestJobs.csvLine(["sf__Id", "sf__Created"] + job.header) + job.successful.csv
                    case "failedResults": BulkIngestJobs.csvLine(["sf__Id", "sf__Error"] + job.header) + job.failed.csv
                    default: BulkIngestJobs.resultsCSV(header: job.header, rows: job.unprocessed)
                    }
                    return Response(status: .ok, headers: [.contentType: "text/csv", HTTPField.Name("Sforce-Limit-Info")!: "api-usage=\(usage.used)/\(usage.limit)"],
                                    body: ResponseBody(byteBuffer: ByteBuffer(string: csv)))
                }
            }
        }
    }
}

/// One page of Get Information About All Jobs.
struct BulkJobList: Encodable {
    var done: Bool
    var records: [[String: BulkIngestJobs.JobValue]]
    var nextRecordsUrl: String?

    func encode(to encoder: any Encoder) throws {
        enum Key: String, CodingKey { case done, records, nextRecordsUrl }
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(done, forKey: .done)
        try container.encode(records, forKey: .records)
        // Salesforce writes null on the last page.
        try container.encode(nextRecordsUrl, forKey: .nextRecordsUrl)
    }
}
