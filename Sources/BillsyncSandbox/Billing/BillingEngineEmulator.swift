import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// How the emulated billing engine's export API behaves.
public struct BillingEmulatorConfiguration: Sendable {
    /// From `BILLSYNC_SANDBOX_BILLING_TOKEN` in the CLI; never logged.
    public var apiToken = "billing-sandbox-token"
    /// Requests allowed per second before answering 429 with `Retry-After`.
    public var requestsPerSecond = 50
    public var maximumPageSize = 1_000
    /// The emulator's time, for its rate window (a test injects one it controls).
    public var now: @Sendable () -> Date = { Date() }

    public init() {}
}

/// A billing engine's REST export API in the style of seed 000: bearer-token auth, paged
/// results by cursor and `updated_since`, 429 with `Retry-After` when called too fast, and an
/// upload endpoint for meter readings and CRM-side changes (the other direction).
public final class BillingEngineEmulator: Sendable {
    let store: BillingStore
    let configuration: BillingEmulatorConfiguration
    private let window = Mutex<(second: Int, count: Int)>((0, 0))

    public init(store: BillingStore, configuration: BillingEmulatorConfiguration) {
        self.store = store
        self.configuration = configuration
    }

    /// nil when the request may proceed; otherwise the answer (401 or 429).
    func refuse(_ request: Request) -> Response? {
        guard request.headers[.authorization] == "Bearer \(configuration.apiToken)" else {
            return json(.unauthorized, ["error": "invalid_token", "message": "a valid bearer token is required"], usage: nil)
        }
        let now = configuration.now().timeIntervalSince1970
        let allowed = window.withLock { window -> Bool in
            let second = Int(now)
            if window.second != second { window = (second, 0) }
            window.count += 1
            return window.count <= configuration.requestsPerSecond
        }
        guard allowed else {
            var response = json(.tooManyRequests, ["error": "rate_limited", "message": "too many requests"], usage: nil)
            response.headers[.retryAfter] = "1"
            return response
        }
        return nil
    }

    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("billing/v1/:entity") { [self] request, context in
            if let refusal = refuse(request) { return refusal }
            let entity = try context.parameters.require("entity")
            guard BillingStore.entities.contains(entity) else {
                return json(.notFound, ["error": "not_found", "message": "unknown entity \(entity)"], usage: nil)
            }
            let query = request.uri.queryParameters
            let size = min(configuration.maximumPageSize, query["page_size"].flatMap { Int(String($0)) } ?? 100)
            guard size > 0 else { return json(.badRequest, ["error": "invalid_request", "message": "page_size must be positive"], usage: nil) }
            let cursor = query["cursor"].flatMap { Int64(String($0)) }
            let page = try store.page(entity: entity, updatedSince: query["updated_since"].map(String.init), cursor: cursor, size: size)
            let body = "{\"data\":[\(page.records.joined(separator: ","))],\"next_cursor\":\(page.next.map { "\"\($0)\"" } ?? "null"),\"has_more\":\(page.next != nil)}"
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        router.post("billing/v1/uploads/:kind") { [self] request, context in
            var request = request
            let body = try await request.collectBody(upTo: 32 << 20)
            if let refusal = refuse(request) { return refusal }
            let kind = try context.parameters.require("kind")
            guard BillingStore.uploadKinds.contains(kind) else {
                return json(.notFound, ["error": "not_found", "message": "unknown upload \(kind)"], usage: nil)
            }
            guard let records = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [[String: Any]] else {
                return json(.badRequest, ["error": "invalid_request", "message": "the body must be a JSON array of objects"], usage: nil)
            }
            var results: [[String: String]] = []
            for record in records {
                guard let key = record["idempotency_key"] as? String, !key.isEmpty else {
                    results.append(["status": "rejected", "error": "idempotency_key is required"])
                    continue
                }
                if kind == "meter-readings", (record["nmi"] as? String).map({ !$0.isEmpty }) != true {
                    results.append(["key": key, "status": "rejected", "error": "nmi is required"])
                    continue
                }
                // A register reading only grows: a billing engine refuses a negative one rather
                // than bill a customer a credit for it.
                if kind == "meter-readings", let reading = record["reading"] as? String, reading.hasPrefix("-") {
                    results.append(["key": key, "status": "rejected", "error": "reading \(reading) is negative"])
                    continue
                }
                let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
                let new = try store.upload(kind: kind, key: key, json: String(decoding: data, as: UTF8.self))
                results.append(["key": key, "status": new ? "created" : "unchanged"])
            }
            return json(.ok, ["results": results], usage: nil)
        }
        router.get("sandbox/billing/:entity/count") { [self] _, context in
            json(.ok, ["count": try store.count(entity: context.parameters.require("entity"))], usage: nil)
        }
        router.get("sandbox/billing/uploads/:kind/count") { [self] _, context in
            json(.ok, ["count": try store.uploadCount(kind: context.parameters.require("kind"))], usage: nil)
        }
    }
}
