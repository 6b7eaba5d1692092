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

    /// The org billsync loads into by default: accounts and contacts with billing fields, and
    /// custom objects for premises, bills and meter readings.
    public static let billsync = SalesforceOrg(objects: [
        Object(name: "Account", keyPrefix: "001", fields: [
            Field("Name", .text(maxLength: 255), required: true),
            Field("Billing_Customer_Id__c", .text(maxLength: 20), externalID: true, unique: true),
            Field("Billing_Account_Id__c", .text(maxLength: 64), externalID: true),
            Field("Type", .text(maxLength: 40)), Field("Industry", .text(maxLength: 40)),
            Field("Hierarchy_Level__c", .text(maxLength: 2)), Field("Parent_Billing_Account_Id__c", .text(maxLength: 64)),
            Field("Account_Representative__c", .text(maxLength: 120)), Field("Phone", .phone), Field("Email__c", .email),
            Field("BillingStreet", .text(maxLength: 255)), Field("BillingCity", .text(maxLength: 40)),
            Field("BillingState", .text(maxLength: 80)), Field("BillingPostalCode", .text(maxLength: 20)),
            Field("Amount_Due__c", .currency), Field("Last_Bill_Date__c", .date), Field("Due_Date__c", .date),
            Field("FYTD_Revenue__c", .currency), Field("Total_Amount_Due__c", .currency),
            Field("Active_Services__c", .number), Field("Status__c", .text(maxLength: 20)),
        ], validation: { fields in
            if case let .number(amount)? = fields["Amount_Due__c"], amount < -1_000_000 {
                return ("Amount due is below the allowed credit limit", ["Amount_Due__c"])
            }
            return nil
        }),
        Object(name: "Contact", keyPrefix: "003", fields: [
            Field("LastName", .text(maxLength: 80), required: true), Field("FirstName", .text(maxLength: 40)),
            Field("Billing_Contact_Id__c", .text(maxLength: 64), externalID: true, unique: true),
            Field("Billing_Customer_Id__c", .text(maxLength: 20)), Field("Email", .email), Field("Phone", .phone),
            Field("MailingStreet", .text(maxLength: 255)), Field("MailingCity", .text(maxLength: 40)),
            Field("MailingState", .text(maxLength: 80)), Field("MailingPostalCode", .text(maxLength: 20)),
            Field("Amount_Due__c", .currency), Field("Last_Bill_Date__c", .date),
        ]),
        Object(name: "Service_Point__c", keyPrefix: "a01", fields: [
            Field("Name", .text(maxLength: 80), required: true), Field("NMI__c", .text(maxLength: 11), externalID: true, unique: true),
            Field("Billing_Account_Id__c", .text(maxLength: 64)), Field("Active__c", .checkbox),
            Field("Service_Start_Date__c", .date), Field("Tariff__c", .text(maxLength: 80)), Field("Address__c", .text(maxLength: 255)),
        ]),
        Object(name: "Meter_Reading__c", keyPrefix: "a02", fields: [
            Field("Reading_Key__c", .text(maxLength: 80), externalID: true, unique: true), Field("NMI__c", .text(maxLength: 11)),
            Field("Meter_Id__c", .text(maxLength: 64)), Field("Reading_Date__c", .date), Field("Reading__c", .number),
            Field("Unit__c", .text(maxLength: 10)), Field("Quality__c", .text(maxLength: 1)),
        ]),
    ])
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
