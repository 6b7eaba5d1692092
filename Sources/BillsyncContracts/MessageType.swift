/// Every kind of message on billsync's topics. The raw value names the payload's schema file:
/// `Schemas/<rawValue>.v<major>.schema.json`.
public enum MessageType: String, Codable, Sendable, CaseIterable {
    case billingAccount = "billing-account"
    case billingContact = "billing-contact"
    case billingPremise = "billing-premise"
    case billingServiceAgreement = "billing-service-agreement"
    case billingBill = "billing-bill"
    case billingFinancialTransaction = "billing-financial-transaction"
    case billingMeterReading = "billing-meter-reading"
    case billingTariff = "billing-tariff"
    case billingProduct = "billing-product"
    case crmUpsert = "crm-upsert"
    case crmLoadResult = "crm-load-result"
    case deadLetter = "dead-letter"
    case alert = "alert"
    case syncReport = "sync-report"

    public var schemaFileName: String { "\(rawValue).v1.schema.json" }
}

/// A payload type and the message type it travels as.
public protocol MessagePayload: Codable, Sendable, Hashable {
    static var messageType: MessageType { get }
    /// The message types this payload can be read from; by default only `messageType`.
    static func accepts(_ type: MessageType) -> Bool
}

extension MessagePayload {
    public static func accepts(_ type: MessageType) -> Bool { type == messageType }
}

extension MessageType {
    /// The record types the extractor publishes.
    public static let billingRecords: Set<MessageType> = [
        .billingAccount, .billingContact, .billingPremise, .billingServiceAgreement, .billingBill,
        .billingFinancialTransaction, .billingMeterReading, .billingTariff, .billingProduct,
    ]
}
