/// The objects and fields an emulated Salesforce org has, with the rules its API enforces:
/// required fields, lengths, types, external ids and one custom validation rule.
public struct SalesforceOrg: Sendable {
    public enum FieldType: Sendable, Hashable {
        case text(maxLength: Int)
        case email
        case phone
        case currency
        case number
        case date
        case checkbox
    }

    public struct Field: Sendable, Hashable {
        public var name: String
        public var type: FieldType
        public var required = false
        public var externalID = false
        public var unique = false

        public init(_ name: String, _ type: FieldType, required: Bool = false, externalID: Bool = false, unique: Bool = false) {
            self.name = name
            self.type = type
            self.required = required
            self.externalID = externalID
            self.unique = unique
        }
    }

    public struct Object: Sendable {
        public var name: String
        /// The three characters every record id of this object starts with.
        public var keyPrefix: String
        public var fields: [String: Field]
        /// A custom validation rule (a `FIELD_CUSTOM_VALIDATION_EXCEPTION` when it returns a message).
        public var validation: (@Sendable ([String: SalesforceValue]) -> (message: String, fields: [String])?)?

        public init(name: String, keyPrefix: String, fields: [Field],
                    validation: (@Sendable ([String: SalesforceValue]) -> (message: String, fields: [String])?)? = nil) {
            self.name = name
            self.keyPrefix = keyPrefix
            self.fields = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0) })
            self.validation = validation
        }
    }

    public var objects: [String: Object]

    public init(objects: [Object]) {
        self.objects = Dictionary(uniqueKeysWithValues: objects.map { ($0.name, $0) })
    }
}

/// A field value as the emulator stores it.
public enum SalesforceValue: Sendable, Hashable, Codable {
    case null
    case text(String)
    case number(Double)
    case bool(Bool)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null } else if let bool = try? container.decode(Bool.self) { self = .bool(bool) }
        else if let number = try? container.decode(Double.self) { self = .number(number) } else { self = .text(try container.decode(String.self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .text(text): try container.encode(text)
        case let .number(number): try container.encode(number)
        case let .bool(bool): try container.encode(bool)
        }
    }
}
