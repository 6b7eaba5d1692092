import BillsyncJSON
import BillsyncHTTP
import Foundation

/// Why the billing API could not be read.
public struct BillingAPIError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let message: String
    public var description: String { "billing API answered \(status): \(message)" }
    /// 429s past the retry budget, 5xx and transport failures may succeed later.
    public var isTransient: Bool { status == 0 || status == 429 || status >= 500 }
}

/// The billing engine's REST export (seed 000: "pull billing data from the billing engine's
/// API"): bearer token, pages by cursor, incremental by `updated_since`, and patience with
/// `429 Retry-After`, which it honours instead of hammering the engine.
public struct BillingAPISource: Sendable {
    public var baseURL: URL
    /// Read from the environment or a file by the caller; never logged.
    public var token: String
    public var pageSize = 500
    /// How many 429s in a row are waited out before giving up on a page.
    public var maximumRateLimitWaits = 10
    /// The longest `Retry-After` honoured (a broken header must not stall the extractor for hours).
    public var maximumRetryAfter: Duration = .seconds(60)
    /// What a `Retry-After` is waited out on; tests pass a clock they advance.
    public var clock: any Clock<Duration> = ContinuousClock()

    /// The process's HTTP client (the extractor worker's own; `.shared` for a command or a test).
    public var http: HTTPTransport = .shared

    public init(baseURL: URL, token: String) {
        self.baseURL = baseURL
        self.token = token
    }

    public struct Page: Sendable {
        public let records: [JSONValue]
        public let nextCursor: String?
        /// 429s waited out for this page.
        public let rateLimitWaits: Int
    }

    /// One page of `entity` changed at or after `updatedSince`, after `cursor`.
    public func page(_ entity: String, updatedSince: String?, cursor: String?) async throws -> Page {
        var components = URLComponents(url: baseURL.appendingPathComponent("billing/v1/\(entity)"), resolvingAgainstBaseURL: false)!
        components.queryItems = [URLQueryItem(name: "page_size", value: String(pageSize))]
            + (updatedSince.map { [URLQueryItem(name: "updated_since", value: $0)] } ?? [])
            + (cursor.map { [URLQueryItem(name: "cursor", value: $0)] } ?? [])
        let headers = [("Authorization", "Bearer \(token)"), ("Accept", "application/json")]
        var waits = 0
        while true {
            let answer: HTTPAnswer
            do {
                answer = try await http.send("GET", components.url!, headers: headers)
            } catch {
                throw BillingAPIError(status: 0, message: error.reason)
            }
            let (status, data) = (answer.status, answer.body)
            if status == 429, waits < maximumRateLimitWaits {
                waits += 1
                let seconds = answer.header("Retry-After").flatMap(Double.init) ?? 1
                try await clock.sleep(for: min(maximumRetryAfter, .milliseconds(Int(max(seconds, 0.05) * 1000))))
                continue
            }
            guard status == 200 else {
                throw BillingAPIError(status: status, message: String(decoding: data.prefix(500), as: UTF8.self))
            }
            let body: JSONValue
            do {
                body = try JSONParser.parse([UInt8](data))
            } catch {
                throw BillingAPIError(status: status, message: "the answer is not JSON: \(error)")
            }
            guard case let .array(records)? = body["data"] else {
                throw BillingAPIError(status: status, message: "the answer has no data array")
            }
            return Page(records: records, nextCursor: body["next_cursor"]?.stringValue, rateLimitWaits: waits)
        }
    }
}
