import BillsyncJSON
import Foundation

/// A CRM field's value in an upsert. Decimals are JSON numbers written digit for digit.
public enum CRMFieldValue: Codable, Sendable, Hashable {
    case string(String)
    case decimal(Decimal)
    case bool(Bool)
    case null

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else {
            self = .decimal(try container.decode(Decimal.self))
        }
    }

    /// The value as JSON: a decimal is a number written digit for digit.
    public var jsonValue: JSONValue {
        switch self {
        case let .string(text): .string(text)
        case let .bool(bool): .bool(bool)
        case let .decimal(decimal): .number(JSONNumber(decimal))
        case .null: .null
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .string(string): try container.encode(string)
        case let .decimal(decimal): try container.encode(decimal)
        case let .bool(bool): try container.encode(bool)
        case .null: try container.encodeNil()
        }
    }
}

/// Create or update one CRM record matched on an external id (`crm-upsert.v1`).
public struct CRMUpsert: MessagePayload {
    public static let messageType = MessageType.crmUpsert

    /// The object's API name (Account, Contact, Billing_Account__c).
    public var object: String
    public var externalIdField: String
    public var externalId: String
    public var fields: [String: CRMFieldValue]

    public init(object: String, externalIdField: String, externalId: String, fields: [String: CRMFieldValue]) {
        self.object = object
        self.externalIdField = externalIdField
        self.externalId = externalId
        self.fields = fields
    }
}

/// What a sink did with one upsert (`crm-load-result.v1`).
public struct CRMLoadResult: MessagePayload {
    public static let messageType = MessageType.crmLoadResult

    public enum Sink: String, Codable, Sendable, Hashable { case salesforce, postgres, billing }
    public enum Outcome: String, Codable, Sendable, Hashable { case created, updated, failed }

    public struct RecordError: Codable, Sendable, Hashable {
        /// The sink's own code, e.g. REQUIRED_FIELD_MISSING.
        public var code: String
        public var message: String
        public var fields: [String]

        public init(code: String, message: String, fields: [String] = []) {
            self.code = code
            self.message = message
            self.fields = fields
        }
    }

    public var object: String
    public var externalIdField: String
    public var externalId: String
    public var sink: Sink
    public var outcome: Outcome
    public var success: Bool
    @ExplicitNull public var recordId: String?
    public var errors: [RecordError]
    public var attempts: Int?
    /// On a successful load: the fields the command set and a fingerprint of their values
    /// (`UpsertFingerprint`), which is what the transformer's change suppression remembers as
    /// loaded. Absent on failures: a value Salesforce did not accept is never remembered.
    public var fieldSet: String?
    public var fingerprint: String?

    public init(object: String, externalIdField: String, externalId: String, sink: Sink, outcome: Outcome,
                recordId: String?, errors: [RecordError] = [], attempts: Int? = nil, loaded: CRMUpsert? = nil) {
        self.object = object
        self.externalIdField = externalIdField
        self.externalId = externalId
        self.sink = sink
        self.outcome = outcome
        self.success = outcome != .failed
        self.recordId = recordId
        self.errors = errors
        self.attempts = attempts
        if let loaded, outcome != .failed {
            fieldSet = loaded.fieldSet
            fingerprint = loaded.fingerprint.valueText
        }
    }

    /// What a successful load of an upsert makes change suppression remember; nil for a failure.
    public var loadedFingerprint: UpsertFingerprint? {
        guard success, let fieldSet, let value = fingerprint.flatMap(UpsertFingerprint.value(parsing:)) else { return nil }
        return UpsertFingerprint(object: object, externalId: externalId, fieldSet: fieldSet, value: value)
    }
}

extension CRMUpsert {
    struct UnreadableField: Error, CustomStringConvertible {
        let field: String
        var description: String { "crm-upsert field \(field) cannot be read" }
    }

    /// Read directly from the validated tree: every upsert passes here on its way to a sink.
    public init(validated payload: JSONValue) throws {
        guard let object = payload["object"]?.stringValue, let externalIdField = payload["externalIdField"]?.stringValue,
              let externalId = payload["externalId"]?.stringValue, case let .object(members)? = payload["fields"]
        else { throw UnreadableField(field: "object, externalIdField, externalId or fields") }
        var fields: [String: CRMFieldValue] = [:]
        for (name, value) in members.members {
            switch value {
            case let .string(text): fields[name] = .string(text)
            case let .bool(bool): fields[name] = .bool(bool)
            case let .number(number): fields[name] = .decimal(number.decimal)
            case .null: fields[name] = .null
            case .array, .object: throw UnreadableField(field: "fields.\(name)")
            }
        }
        self.init(object: object, externalIdField: externalIdField, externalId: externalId, fields: fields)
    }

    /// Members and fields in sorted order, so one upsert is always written the same way.
    public func jsonValue() -> JSONValue {
        jsonValue(fields: fieldsJSONValue())
    }

    /// The upsert as a tree, with `fieldsJSONValue()` built already.
    public func jsonValue(fields: JSONValue) -> JSONValue {
        .object(JSONObject(uniqueKeys: ["externalId", "externalIdField", "fields", "object"],
                           values: [.string(externalId), .string(externalIdField), fields, .string(self.object)]))
    }

    /// The fields alone, sorted by name: what the upsert's fingerprint hashes.
    public func fieldsJSONValue() -> JSONValue {
        let sorted = fields.sorted { $0.key < $1.key }
        return .object(JSONObject(uniqueKeys: sorted.map(\.key), values: sorted.map(\.value.jsonValue)))
    }
}
