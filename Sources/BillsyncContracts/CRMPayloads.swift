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

    public init(object: String, externalIdField: String, externalId: String, sink: Sink, outcome: Outcome,
                recordId: String?, errors: [RecordError] = [], attempts: Int? = nil) {
        self.object = object
        self.externalIdField = externalIdField
        self.externalId = externalId
        self.sink = sink
        self.outcome = outcome
        self.success = outcome != .failed
        self.recordId = recordId
        self.errors = errors
        self.attempts = attempts
    }
}
