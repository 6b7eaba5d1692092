import BillsyncContracts
import BillsyncHTTP
import BillsyncRuntime
import Foundation

/// Salesforce's REST API as the loader uses it: sObject Collections upserts, Bulk API 2.0 ingest
/// jobs, and the limits resource. Every answer's `Sforce-Limit-Info` goes to the budget; a
/// refused session is renewed once and the call repeated; errors are sorted into what the loader
/// does about them (`SalesforceError`).
public struct SalesforceClient: Sendable {
    public let session: SalesforceSession
    public let budget: APIBudget
    public var apiVersion = "v60.0"
    public var timeout: Duration = .seconds(60)
    /// What bulk polls and the concurrency backoff sleep on (tests: a clock they advance).
    public var clock: WallClock = .system
    /// How long to wait before repeating a call refused for the concurrent request limit.
    public var concurrencyBackoff: Duration = .seconds(1)
    /// The first wait between bulk job polls (doubling up to `bulkPollMaximum`).
    public var bulkPollInterval: Duration = .milliseconds(500)
    public var bulkPollMaximum: Duration = .seconds(30)
    /// Calls this client has in flight at most (every sink batch and read-back of the process
    /// share it); well under Salesforce's 25 concurrent long-running requests per org, which
    /// every integration of the org shares.
    public let callsInFlight: CallLimiter

    public init(session: SalesforceSession, budget: APIBudget, maximumCallsInFlight: Int = 4) {
        self.session = session
        self.budget = budget
        callsInFlight = CallLimiter(maximum: maximumCallsInFlight)
    }

    /// One record's outcome in a Collections answer.
    public struct RecordOutcome: Sendable, Equatable {
        public let id: String?
        public let created: Bool
        public let errors: [CRMLoadResult.RecordError]
        public var success: Bool { errors.isEmpty && id != nil }
    }

    typealias Answer = HTTPAnswer

    /// Upserts up to 200 records of one object by an external id field, `allOrNone: false`: each
    /// record succeeds or fails on its own, in the order sent.
    public func upsertCollection(object: String, externalIdField: String, records: [CRMUpsert]) async throws -> [RecordOutcome] {
        var list: [[String: Any]] = []
        for upsert in records {
            var record: [String: Any] = ["attributes": ["type": object]]
            for (name, value) in upsert.fields { record[name] = Self.jsonObject(value) }
            record[externalIdField] = upsert.externalId
            list.append(record)
        }
        let body = try JSONSerialization.data(withJSONObject: ["allOrNone": false, "records": list])
        let answer = try await call("PATCH", "composite/sobjects/\(Self.pathComponent(object))/\(Self.pathComponent(externalIdField))",
                                    body: body, contentType: "application/json")
        guard answer.status == 200, let results = (try? JSONSerialization.jsonObject(with: answer.data)) as? [[String: Any]],
              results.count == records.count else {
            throw Self.failure(answer)
        }
        return results.map { result in
            let errors = (result["errors"] as? [[String: Any]] ?? []).map {
                CRMLoadResult.RecordError(code: ($0["statusCode"] as? String) ?? ($0["errorCode"] as? String) ?? "UNKNOWN",
                                          message: ($0["message"] as? String) ?? "", fields: ($0["fields"] as? [String]) ?? [])
            }
            let success = (result["success"] as? Bool) ?? false
            return RecordOutcome(id: success ? result["id"] as? String : nil, created: (result["created"] as? Bool) ?? false,
                                 errors: success ? [] : (errors.isEmpty ? [CRMLoadResult.RecordError(code: "UNKNOWN", message: "failed without an error")] : errors))
        }
    }

    /// The org's daily API usage, asked of the limits resource (used to probe whether a paused
    /// loader may resume; the answer's header updates the budget as well).
    public func dailyUsage() async throws -> (used: Int, limit: Int) {
        let answer = try await call("GET", "limits", body: nil, contentType: nil)
        guard answer.status == 200, let limits = (try? JSONSerialization.jsonObject(with: answer.data)) as? [String: Any],
              let daily = limits["DailyApiRequests"] as? [String: Any], let maximum = daily["Max"] as? Int,
              let remaining = daily["Remaining"] as? Int else { throw Self.failure(answer) }
        return (maximum - remaining, maximum)
    }

    /// One API call, through the process's HTTP client, at most `callsInFlight` at once. A
    /// refused session is renewed and the call repeated once.
    func call(_ method: String, _ path: String, body: Data?, contentType: String?, accept: String = "application/json") async throws -> Answer {
        var renewed = false
        while true {
            let token = try await session.current()
            let headers = [("Authorization", "Bearer \(token.accessToken)"), ("Accept", accept)]
                + (contentType.map { [("Content-Type", $0)] } ?? [])
            let answer: Answer
            do {
                answer = try await callsInFlight.run {
                    try await session.http.send(method, Self.url(token.instanceURL, "services/data/\(apiVersion)/\(path)"), headers: headers,
                                                body: body.map { [UInt8]($0) }, timeout: timeout)
                }
            } catch {
                budget.record(limitInfo: nil)
                throw SalesforceError.transient("\(error)")
            }
            budget.record(limitInfo: answer.header("Sforce-Limit-Info"))
            if answer.status == 401, !renewed, Self.errorCodes(answer).contains("INVALID_SESSION_ID") {
                await session.invalidate(token)
                renewed = true
                continue
            }
            if answer.status == 403, Self.errorCodes(answer).contains("REQUEST_LIMIT_EXCEEDED") {
                throw SalesforceError.requestLimit(Self.firstMessage(answer) ?? "REQUEST_LIMIT_EXCEEDED")
            }
            if answer.status >= 500 || answer.status == 0 {
                throw SalesforceError.transient("\(method) \(path) answered \(answer.status)")
            }
            return answer
        }
    }

    static func errorCodes(_ answer: Answer) -> [String] {
        ((try? JSONSerialization.jsonObject(with: answer.data)) as? [[String: Any]] ?? []).compactMap { $0["errorCode"] as? String }
    }

    static func firstMessage(_ answer: Answer) -> String? {
        ((try? JSONSerialization.jsonObject(with: answer.data)) as? [[String: Any]])?.first?["message"] as? String
    }

    /// A whole call refused: Salesforce's first error code and message.
    static func failure(_ answer: Answer) -> SalesforceError {
        let code = errorCodes(answer).first ?? "HTTP_\(answer.status)"
        let message = firstMessage(answer) ?? String(decoding: answer.body.prefix(300), as: UTF8.self)
        return answer.status >= 500 ? .transient("\(code): \(message)") : .permanent(code: code, message: message)
    }

    static func jsonObject(_ value: CRMFieldValue) -> Any {
        switch value {
        case let .string(text): text
        case let .bool(bool): bool
        case let .decimal(decimal): NSDecimalNumber(decimal: decimal)
        case .null: NSNull()
        }
    }

    /// A path segment percent-encoded: everything but RFC 3986's unreserved ASCII characters,
    /// so a `/` or a space in an external id stays inside its segment.
    static func pathComponent(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: unreserved) ?? name
    }

    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// The instance URL with an already percent-encoded path appended (`appendingPathComponent`
    /// would encode the `%` of an encoded segment a second time).
    static func url(_ instance: URL, _ encodedPath: String) -> URL {
        var base = instance.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + "/" + encodedPath) ?? instance.appendingPathComponent(encodedPath)
    }
}
