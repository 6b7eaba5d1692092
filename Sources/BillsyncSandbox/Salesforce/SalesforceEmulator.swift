import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// An HTTP server that answers like Salesforce's REST API for what billsync uses: OAuth 2.0
/// tokens, upsert and GET by external id, sObject Collections upsert, limits, with Salesforce's status
/// codes, error bodies and `Sforce-Limit-Info` header. Not a stub: records are validated and
/// stored (SQLite), limits are counted, and faults can be injected.
public struct SalesforceEmulator: Sendable {
    public static let collectionLimit = 200
    let store: SalesforceRecordStore
    let state: SalesforceAPIState
    let bulk = BulkIngestJobs()

    public init(store: SalesforceRecordStore, configuration: SalesforceEmulatorConfiguration) {
        self.store = store
        state = SalesforceAPIState(configuration: configuration)
    }

    public var apiUsage: (used: Int, limit: Int) { state.usage }

    /// Raises or lowers the daily limit while running (tests: "the limit is raised").
    public func setDailyLimit(_ limit: Int) { state.setDailyLimit(limit) }

    /// Adds the emulator's routes to a router.
    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("services/oauth2/token") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            return tokenResponse(form: String(buffer: body), authorization: request.headers[.authorization])
        }
        router.patch("services/data/:version/sobjects/:object/:field/:value") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 16 << 20)
            return await api(request) { usage in
                try upsertOne(object: context.parameters.require("object"), field: context.parameters.require("field"),
                              value: context.parameters.require("value"), body: body, usage: usage)
            }
        }
        router.patch("services/data/:version/composite/sobjects/:object/:field") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 64 << 20)
            return await api(request) { usage in
                try upsertCollection(object: context.parameters.require("object"), field: context.parameters.require("field"),
                                     body: body, usage: usage)
            }
        }
        router.get("services/data/:version/sobjects/:object/:field/:value") { request, context in
            await api(request) { usage in
                try retrieve(object: context.parameters.require("object"), field: context.parameters.require("field"),
                             value: context.parameters.require("value"), version: context.parameters.require("version"), usage: usage)
            }
        }
        router.get("services/data/:version/sobjects/:object/describe") { request, context in
            await api(request) { usage in
                guard let object = store.org.objects[try context.parameters.require("object")] else {
                    return json(.notFound, [SalesforceError("NOT_FOUND", "The requested resource does not exist")], usage: usage)
                }
                return json(.ok, store.org.describe(object), usage: usage)
            }
        }
        router.get("services/data/:version/limits") { request, _ in
            await api(request) { usage in
                json(.ok, ["DailyApiRequests": ["Max": usage.limit, "Remaining": max(0, usage.limit - usage.used)]], usage: usage)
            }
        }
        addBulkRoutes(to: router)
        // Read-back for tests and the demo, outside the emulated API and its limits.
        router.get("sandbox/salesforce/api-usage") { _, _ in
            let usage = state.usage
            return json(.ok, ["used": usage.used, "limit": usage.limit], usage: nil)
        }
        router.get("sandbox/salesforce/:object/count") { _, context in
            let count = try store.count(object: context.parameters.require("object"))
            return json(.ok, ["count": count], usage: nil)
        }
        router.get("sandbox/salesforce/:object/duplicate-creates") { _, context in
            let duplicates = try store.duplicateCreates(object: context.parameters.require("object"))
            return json(.ok, ["duplicateCreates": duplicates], usage: nil)
        }
        router.get("sandbox/salesforce/:object/:field/:value") { _, context in
            guard let record = try store.record(object: context.parameters.require("object"), externalField: context.parameters.require("field"),
                                                value: context.parameters.require("value")) else {
                return json(.notFound, [["errorCode": "NOT_FOUND", "message": "no such record"]], usage: nil)
            }
            var fields = record.fields
            fields["Id"] = .text(record.id)
            return json(.ok, fields, usage: nil)
        }
    }

    /// Authenticates and counts an API request, then runs it; answers 401, 403 or 503 as Salesforce does.
    func api(_ request: Request, _ body: ((used: Int, limit: Int)) throws -> Response) async -> Response {
        guard state.enter() else {
            return json(.forbidden, [["message": "ConcurrentPerOrgLongTxn Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"]], usage: nil)
        }
        defer { state.leave() }
        if state.configuration.addedLatency > .zero { try? await Task.sleep(for: state.configuration.addedLatency) }
        switch state.admit(authorization: request.headers[.authorization]) {
        case .invalidSession:
            return json(.unauthorized, [["message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"]], usage: nil)
        case let .limitExceeded(used, limit):
            return json(.forbidden, [["message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"]], usage: (used, limit))
        case let .unavailable(used, limit):
            return json(.serviceUnavailable, [["message": "Server temporarily unavailable", "errorCode": "SERVER_UNAVAILABLE"]], usage: (used, limit))
        case let .allowed(used, limit):
            do {
                return try body((used, limit))
            } catch {
                return json(.internalServerError, [["message": "\(error)", "errorCode": "UNKNOWN_EXCEPTION"]], usage: (used, limit))
            }
        }
    }

    func upsertOne(object: String, field: String, value: String, body: ByteBuffer, usage: (used: Int, limit: Int)) throws -> Response {
        guard let fields = try? JSONDecoder().decode([String: SalesforceValue].self, from: Data(buffer: body)) else {
            return json(.badRequest, [["message": "The request body is not a JSON object", "errorCode": "JSON_PARSER_ERROR"]], usage: usage)
        }
        if fields["Id"] != nil {
            return json(.badRequest, [SalesforceError("MALFORMED_ID", "Id is not allowed in an upsert by external id", fields: ["Id"])], usage: usage)
        }
        if state.lockFails() {
            return json(.badRequest, [SalesforceError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")], usage: usage)
        }
        switch try store.upsert(object: object, externalField: field, externalValue: value, fields: fields) {
        case let .created(id):
            return json(.created, UpsertResult(id: id, success: true, errors: [], created: true), usage: usage)
        case let .updated(id):
            return json(.ok, UpsertResult(id: id, success: true, errors: [], created: false), usage: usage)
        case let .multipleMatches(ids):
            return json(.multipleChoices, ids.map { "/services/data/v61.0/sobjects/\(object)/\($0)" }, usage: usage)
        case let .failed(errors):
            return json(.badRequest, errors, usage: usage)
        case let .notFound(error):
            return json(.notFound, [error], usage: usage)
        }
    }

    func upsertCollection(object: String, field: String, body: ByteBuffer, usage: (used: Int, limit: Int)) throws -> Response {
        struct Body: Decodable {
            var allOrNone: Bool?
            var records: [CollectionRecord]
        }
        guard let request = try? JSONDecoder().decode(Body.self, from: Data(buffer: body)) else {
            return json(.badRequest, [["message": "The request body is not valid", "errorCode": "JSON_PARSER_ERROR"]], usage: usage)
        }
        guard request.records.count <= Self.collectionLimit else {
            return json(.badRequest, [SalesforceError("EXCEEDED_ID_LIMIT", "Number of records exceeds limit \(Self.collectionLimit)")], usage: usage)
        }
        // Each record must carry `attributes` with its `type`: a request without is not well
        // formed, and Salesforce answers 400 for the whole of it.
        guard request.records.allSatisfy({ $0.type != nil }) else {
            return json(.badRequest, [SalesforceError("INVALID_TYPE", "Each record in an sObject Collections request must have attributes with a type")],
                        usage: usage)
        }
        // An external id given twice in one request (compared as Salesforce compares text
        // external ids: without regard to case) fails every record that gives it; none is written.
        var occurrences: [String: Int] = [:]
        for record in request.records {
            if case let .text(value)? = record.fields[field] { occurrences[value.lowercased(), default: 0] += 1 }
        }
        // `attributes` says the type; the rest are fields. Records that fail before the store
        // (a lock, a missing external id) keep their place in the answer.
        var prepared: [(index: Int, value: String, fields: [String: SalesforceValue])] = []
        var early: [Int: SalesforceError] = [:]
        for (index, record) in request.records.enumerated() {
            var fields = record.fields
            if let type = record.type, type != object {
                early[index] = SalesforceError("INVALID_TYPE", "attributes.type \(type) does not match \(object)")
                continue
            }
            guard case let .text(value)? = fields.removeValue(forKey: field) else {
                early[index] = SalesforceError("MISSING_ARGUMENT", "\(field) not specified", fields: [field])
                continue
            }
            if occurrences[value.lowercased(), default: 0] > 1 {
                early[index] = SalesforceError("DUPLICATE_VALUE", "Duplicate external id specified: \(value)", fields: [field])
                continue
            }
            if state.lockFails() {
                early[index] = SalesforceError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
                continue
            }
            prepared.append((index, value, fields))
        }
        let allOrNone = request.allOrNone ?? false
        let outcomes = (allOrNone && !early.isEmpty)
            ? prepared.map { _ in SalesforceUpsertOutcome.failed([SalesforceError("ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all records were valid and the request was using AllOrNone header")]) }
            : try store.upsertAll(object: object, externalField: field, records: prepared.map { ($0.value, $0.fields) }, allOrNone: allOrNone)
        var results = [CollectionResult?](repeating: nil, count: request.records.count)
        for (index, error) in early { results[index] = CollectionResult(errors: [error]) }
        for (item, outcome) in zip(prepared, outcomes) { results[item.index] = CollectionResult(outcome, object: object) }
        return json(.ok, results.compactMap { $0 }, usage: usage)
    }

    func tokenResponse(form: String, authorization: String?) -> Response {
        let parameters = FormParameters(form)
        let configuration = state.configuration
        func failure(_ error: String, _ description: String) -> Response {
            json(.badRequest, ["error": error, "error_description": description], usage: nil)
        }
        switch parameters["grant_type"] {
        case "client_credentials":
            var id = parameters["client_id"]
            var secret = parameters["client_secret"]
            if let authorization, authorization.hasPrefix("Basic "),
               let decoded = Data(base64Encoded: String(authorization.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) }),
               let colon = decoded.firstIndex(of: ":") {
                id = String(decoded[..<colon]).removingPercentEncoding
                secret = String(decoded[decoded.index(after: colon)...]).removingPercentEncoding
            }
            guard id == configuration.clientID else { return failure("invalid_client_id", "client identifier invalid") }
            guard secret == configuration.clientSecret else { return failure("invalid_client", "invalid client credentials") }
        case "urn:ietf:params:oauth:grant-type:jwt-bearer":
            guard let assertion = parameters["assertion"] else { return failure("invalid_grant", "assertion is missing") }
            do {
                try JWTBearerAssertion.verify(assertion, configuration: configuration)
            } catch {
                return failure("invalid_grant", "\(error)")
            }
        default:
            return failure("unsupported_grant_type", "grant type not supported")
        }
        let token = state.issueToken()
        return json(.ok, [
            "access_token": token, "instance_url": configuration.instanceURL, "id": "https://login.salesforce.com/id/00D000000000001EAA/005000000000001AAA",
            "token_type": "Bearer", "issued_at": String(Int64(Date().timeIntervalSince1970 * 1000)), "scope": "api",
            "signature": Data(token.utf8.prefix(32)).base64EncodedString(),
        ], usage: nil)
    }
}

/// One entry of an sObject Collections answer (note `statusCode` here, `errorCode` elsewhere).
struct CollectionResult: Encodable {
    struct Failure: Encodable {
        let statusCode: String
        let message: String
        let fields: [String]
    }

    var id: String?
    var success: Bool
    var errors: [Failure]
    var created: Bool?

    init(id: String?, success: Bool, errors: [SalesforceError], created: Bool?) {
        self.id = id
        self.success = success
        self.errors = errors.map { Failure(statusCode: $0.errorCode, message: $0.message, fields: $0.fields) }
        self.created = created
    }

    init(errors: [SalesforceError]) {
        self.init(id: nil, success: false, errors: errors, created: nil)
    }

    init(_ outcome: SalesforceUpsertOutcome, object: String) {
        switch outcome {
        case let .created(id): self.init(id: id, success: true, errors: [], created: true)
        case let .updated(id): self.init(id: id, success: true, errors: [], created: false)
        case let .failed(list): self.init(errors: list)
        case let .notFound(error): self.init(errors: [error])
        case let .multipleMatches(ids):
            self.init(errors: [SalesforceError("DUPLICATE_EXTERNAL_ID", "The external id matches several \(object) records: \(ids.joined(separator: ", "))")])
        }
    }
}

/// One record of an sObject Collections request: `attributes` (its type) and its fields.
struct CollectionRecord: Decodable {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    struct Attributes: Decodable {
        var type: String?
    }

    var type: String?
    var fields: [String: SalesforceValue] = [:]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == "attributes" {
                type = try container.decode(Attributes.self, forKey: key).type
            } else {
                fields[key.stringValue] = try container.decode(SalesforceValue.self, forKey: key)
            }
        }
    }
}

extension SalesforceEmulator {
    /// Bulk API 2.0 ingest: create a job, upload CSV, close it, poll, read the results.
    func addBulkRoutes(to router: Router<BasicRequestContext>) {
        router.post("services/data/:version/jobs/ingest") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            return await api(request) { usage in
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
        router.put("services/data/:version/jobs/ingest/:job/batches") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 150 << 20)
            return await api(request) { usage in
                guard bulk.upload(try context.parameters.require("job"), data: Array(buffer: body)) else {
                    return json(.badRequest, [SalesforceError("INVALIDJOBSTATE", "The job is not open for uploads")], usage: usage)
                }
                return Response(status: .created, headers: [HTTPField.Name("Sforce-Limit-Info")!: "api-usage=\(usage.used)/\(usage.limit)"])
            }
        }
        router.patch("services/data/:version/jobs/ingest/:job") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            return await api(request) { usage in
                let id = try context.parameters.require("job")
                struct Change: Decodable { var state: String }
                guard let change = try? JSONDecoder().decode(Change.self, from: Data(buffer: body)),
                      ["UploadComplete", "Aborted"].contains(change.state) else {
                    return json(.badRequest, [SalesforceError("INVALIDJOBSTATE", "state must be UploadComplete or Aborted")], usage: usage)
                }
                guard let job = bulk.setState(id, change.state) else {
                    return json(.notFound, [SalesforceError("NOT_FOUND", "Job not found")], usage: usage)
                }
                // Processing starts with the next poll, which sees InProgress; the one after, the result.
                return json(.ok, job.info, usage: usage)
            }
        }
        router.get("services/data/:version/jobs/ingest/:job") { request, context in
            await api(request) { usage in
                let id = try context.parameters.require("job")
                guard let job = bulk.job(id) else {
                    return json(.notFound, [SalesforceError("NOT_FOUND", "Job not found")], usage: usage)
                }
                if job.state == "UploadComplete", let running = bulk.setState(id, "InProgress") {
                    try bulk.process(id, store: store, lockFails: state.lockFails)
                    return json(.ok, running.info, usage: usage)
                }
                return json(.ok, job.info, usage: usage)
            }
        }
        for (path, successful) in [("successfulResults", true), ("failedResults", false)] {
            router.get("services/data/:version/jobs/ingest/:job/\(path)") { request, context in
                await api(request) { usage in
                    guard let job = bulk.job(try context.parameters.require("job")) else {
                        return json(.notFound, [SalesforceError("NOT_FOUND", "Job not found")], usage: usage)
                    }
                    let header = (successful ? ["sf__Id", "sf__Created"] : ["sf__Id", "sf__Error"]) + job.header
                    let csv = BulkIngestJobs.resultsCSV(header: header, rows: successful ? job.successful : job.failed)
                    return Response(status: .ok, headers: [.contentType: "text/csv", HTTPField.Name("Sforce-Limit-Info")!: "api-usage=\(usage.used)/\(usage.limit)"],
                                    body: ResponseBody(byteBuffer: ByteBuffer(string: csv)))
                }
            }
        }
        for path in ["unprocessedrecords", "unprocessedRecords"] {
        router.get("services/data/:version/jobs/ingest/:job/\(path)") { request, context in
            await api(request) { usage in
                guard let job = bulk.job(try context.parameters.require("job")) else {
                    return json(.notFound, [SalesforceError("NOT_FOUND", "Job not found")], usage: usage)
                }
                return Response(status: .ok, headers: [.contentType: "text/csv"],
                                body: ResponseBody(byteBuffer: ByteBuffer(string: job.header.joined(separator: ",") + "\n")))
            }
        }
        }
    }
}
