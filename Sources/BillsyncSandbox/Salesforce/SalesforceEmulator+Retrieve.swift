import Foundation
import Hummingbird

/// A record as the store keeps it, with its system dates.
public struct SalesforceStoredRecord: Sendable, Hashable {
    public var id: String
    public var fields: [String: SalesforceValue]
    /// RFC 3339, as the store writes them.
    public var createdAt: String
    public var updatedAt: String
}

extension SalesforceEmulator {
    /// `GET sobjects/<object>/<field>/<value>`: the record whose external id field has that
    /// value, as the REST API answers it: `attributes`, `Id`, the system fields, and every field
    /// of the object (null when empty). 404 `NOT_FOUND` for an unknown object, a field that is
    /// not an external id, or no such record; 300 with the records' URLs when several match.
    func retrieve(object name: String, field: String, value encoded: String, version: String, usage: (used: Int, limit: Int)) throws -> Response {
        let notFound = SalesforceError("NOT_FOUND", "The requested resource does not exist")
        guard let object = store.org.objects[name] else { return json(.notFound, [notFound], usage: usage) }
        guard object.fields[field]?.externalID == true else {
            return json(.notFound, [SalesforceError("NOT_FOUND", "Provided external ID field does not exist or is not accessible: \(field)")],
                        usage: usage)
        }
        // The router hands the segment over as it was sent, percent-encoded.
        let value = encoded.removingPercentEncoding ?? encoded
        let records = try store.records(object: name, externalField: field, value: value)
        guard let record = records.first else { return json(.notFound, [notFound], usage: usage) }
        guard records.count == 1 else {
            return json(.multipleChoices, records.map { "/services/data/\(version)/sobjects/\(name)/\($0.id)" }, usage: usage)
        }
        var body: [String: RetrievedValue] = [
            "attributes": .attributes(type: name, url: "/services/data/\(version)/sobjects/\(name)/\(record.id)"),
            "Id": .value(.text(record.id)),
            "IsDeleted": .value(.bool(false)),
            "CreatedDate": .value(.text(Self.salesforceDateTime(record.createdAt))),
            "LastModifiedDate": .value(.text(Self.salesforceDateTime(record.updatedAt))),
            "SystemModstamp": .value(.text(Self.salesforceDateTime(record.updatedAt))),
        ]
        for definition in object.fields.keys { body[definition] = .value(record.fields[definition] ?? .null) }
        return json(.ok, body, usage: usage)
    }

    /// Salesforce writes date-times as `2012-07-12T17:49:01.000+0000`.
    static func salesforceDateTime(_ stored: String) -> String {
        guard let date = (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(stored))
            ?? (try? Date.ISO8601FormatStyle().parse(stored)) else { return stored }
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let seconds = Date(timeIntervalSince1970: TimeInterval(milliseconds / 1000))
        let text = Date.ISO8601FormatStyle(timeZone: .gmt).format(seconds)  // 2012-07-12T17:49:01Z
        return String(text.dropLast()) + String(format: ".%03d+0000", Int(milliseconds % 1000))
    }
}

/// One member of a GET answer: the `attributes` object or a field's value.
enum RetrievedValue: Encodable {
    case attributes(type: String, url: String)
    case value(SalesforceValue)

    func encode(to encoder: any Encoder) throws {
        switch self {
        case let .attributes(type, url):
            var container = encoder.container(keyedBy: AttributeKey.self)
            try container.encode(type, forKey: .type)
            try container.encode(url, forKey: .url)
        case let .value(value): try value.encode(to: encoder)
        }
    }

    enum AttributeKey: String, CodingKey { case type, url }
}
