import Foundation

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
