import BillsyncJSON

/// Any raw billing record, as validated JSON: for a stage that reads every raw topic and works
/// by the declared mapping rather than by Swift type (the transformer). The envelope's `type`
/// says which record it is; the payload was validated against that type's schema.
public struct AnyBillingRecord: MessagePayload {
    /// Only used when such an envelope is created in Swift; reading takes the envelope's type.
    public static let messageType = MessageType.billingAccount
    public static func accepts(_ type: MessageType) -> Bool { MessageType.billingRecords.contains(type) }

    public var fields: JSONValue

    public init(fields: JSONValue) {
        self.fields = fields
    }

    public init(from decoder: any Decoder) throws {
        fields = try JSONValue(from: decoder)
    }

    public init(validated payload: JSONValue) {
        fields = payload
    }

    public func jsonValue() -> JSONValue { fields }

    public func encode(to encoder: any Encoder) throws {
        try fields.encode(to: encoder)
    }
}
