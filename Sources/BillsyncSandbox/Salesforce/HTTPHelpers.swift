import Foundation
import HTTPTypes
import Hummingbird

/// A JSON response, with `Sforce-Limit-Info` when the request counted against the API limit.
func json(_ status: HTTPResponse.Status, _ value: some Encodable, usage: (used: Int, limit: Int)?) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
    var headers: HTTPFields = [.contentType: "application/json;charset=UTF-8"]
    if let usage { headers[HTTPField.Name("Sforce-Limit-Info")!] = "api-usage=\(usage.used)/\(usage.limit)" }
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}

/// `application/x-www-form-urlencoded` fields.
struct FormParameters {
    private var values: [String: String] = [:]

    init(_ body: String) {
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            values[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
    }

    subscript(name: String) -> String? { values[name] }
}

/// What an upsert by external id answers.
struct UpsertResult: Encodable {
    let id: String
    let success: Bool
    let errors: [SalesforceError]
    let created: Bool
}
