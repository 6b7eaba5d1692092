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
    let bulk: BulkIngestJobs

    public init(store: SalesforceRecordStore, configuration: SalesforceEmulatorConfiguration) {
        self.store = store
        let state = SalesforceAPIState(configuration: configuration)
        self.state = state
        bulk = BulkIngestJobs(processing: BulkIngestProcessing(store: store, lockFails: { state.lockFails() },
                                                               allowance: { state.takeBulkRecords($0) }))
    }

    /// Requests counted against the daily allocation in the last 24 hours, and the allocation.
    public var apiUsage: (used: Int, limit: Int) { state.usage }

    /// API calls per client and endpoint kind, and refusals per limit, as this side counted them.
    public var calls: SalesforceCallCounts { state.calls }

    /// Every Bulk API job's id and state (read-back, outside the emulated API).
    public var bulkJobs: [(id: String, state: String)] { bulk.states }

    /// Leaves closed Bulk API jobs queued (UploadComplete) until `releaseBulkProcessing()`: for
    /// tests that look at a job before Salesforce takes it.
    public func holdBulkProcessing() { bulk.hold() }

    /// Processes closed Bulk API jobs again, those queued meanwhile first.
    public func releaseBulkProcessing() { bulk.release() }

    /// Bulk API status polls that arrived and were answered late (`bulkPollStalls`), counted as
    /// they arrive.
    public var stalledBulkPolls: Int { bulk.stalledPolls }

    /// Returns once the Bulk API job has ended (processed, failed or aborted).
    public func bulkJobEnded(_ id: String) async { await bulk.ended(id) }

    /// Stands for other clients' long-running requests (a report export, another integration):
    /// they take `count` of the concurrent long-running slots until set back to 0.
    public func setForeignLongRunningRequests(_ count: Int) { state.setForeignLongRunningRequests(count) }

    /// The login URL that stands for the org's My Domain on the emulator's address `base`
    /// (`http://127.0.0.1:8090/billsync-sandbox.my.salesforce.com`): where a client logs in
    /// with client credentials.
    public func myDomainLoginURL(on base: URL) -> URL {
        base.appendingPathComponent(state.configuration.myDomainHost)
    }

    /// Tells the emulator the address its server listens on: its instance URL, unless one is
    /// configured.
    public func listens(at base: URL) { state.listens(at: base) }

    /// Records of `object` the org holds, read directly.
    public func recordCount(object: String) throws -> Int { try store.count(object: object) }

    /// Creates of `object` in all and the distinct external ids they were for, read directly.
    public func creates(object: String) throws -> (creates: Int, externalIds: Int) { try store.creates(object: object) }

    /// Raises or lowers the daily limit while running (tests: "the limit is raised").
    public func setDailyLimit(_ limit: Int) { state.setDailyLimit(limit) }

    /// Adds the emulator's routes to a router.
    public func addRoutes(to router: Router<BasicRequestContext>) {
        addTokenRoutes(to: router)
        router.patch("services/data/:version/sobjects/:object/:field/:value") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 16 << 20)
            return await api(request, .upsert) { usage in
                try upsertOne(object: context.parameters.require("object"), field: context.parameters.require("field"),
                              value: context.parameters.require("value"), body: body, usage: usage)
            }
        }
        router.patch("services/data/:version/composite/sobjects/:object/:field") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 64 << 20)
            return await api(request, .collections) { usage in
                try upsertCollection(object: context.parameters.require("object"), field: context.parameters.require("field"),
                                     body: body, usage: usage)
            }
        }
        router.get("services/data/:version/sobjects/:object/:field/:value") { request, context in
            await api(request, .retrieve) { usage in
                try retrieve(object: context.parameters.require("object"), field: context.parameters.require("field"),
                             value: context.parameters.require("value"), version: context.parameters.require("version"), usage: usage)
            }
        }
        router.get("services/data/:version/sobjects/:object/describe") { request, context in
            await api(request, .describe) { usage in
                guard let object = store.org.objects[try context.parameters.require("object")] else {
                    return json(.notFound, [SalesforceError("NOT_FOUND", "The requested resource does not exist")], usage: usage)
                }
                return json(.ok, store.org.describe(object), usage: usage)
            }
        }
        router.get("services/data/:version/limits") { request, _ in
            await api(request, .limits) { usage in
                json(.ok, ["DailyApiRequests": ["Max": usage.limit, "Remaining": max(0, usage.limit - usage.used)]], usage: usage)
            }
        }
        addBulkRoutes(to: router)
        // Read-back for tests and the demo, outside the emulated API and its limits.
        router.get("sandbox/salesforce/api-usage") { _, _ in
            let usage = state.usage
            return json(.ok, ["used": usage.used, "limit": usage.limit], usage: nil)
        }
        router.get("sandbox/salesforce/calls") { _, _ in
            json(.ok, state.calls, usage: nil)
        }
        router.get("sandbox/salesforce/:object/count") { _, context in
            let count = try store.count(object: context.parameters.require("object"))
            return json(.ok, ["count": count], usage: nil)
        }
        router.get("sandbox/salesforce/:object/duplicate-creates") { _, context in
            let object = try context.parameters.require("object")
            let creates = try store.creates(object: object)
            return json(.ok, ["duplicateCreates": try store.duplicateCreates(object: object), "creates": creates.creates,
                              "externalIds": creates.externalIds], usage: nil)
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

    /// Authenticates and counts an API request of `kind`, then runs it; answers 401, 403 or 503
    /// as Salesforce does. The two limits answer differently ("API Request Limits and
    /// Allocations"): too many long-running requests at once is `ConcurrentRequests`, the daily
    /// allocation used up is `TotalRequests`; both 403 REQUEST_LIMIT_EXCEEDED.
    func api(_ request: Request, _ kind: SalesforceEndpointKind, _ body: ((used: Int, limit: Int)) throws -> Response) async -> Response {
        guard let ticket = state.enter() else {
            return json(.forbidden, [["message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"]],
                        usage: nil)
        }
        defer { state.leave(ticket) }
        if state.configuration.addedLatency > .zero { try? await Task.sleep(for: state.configuration.addedLatency) }
        switch state.admit(authorization: request.headers[.authorization], kind: kind) {
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
}
