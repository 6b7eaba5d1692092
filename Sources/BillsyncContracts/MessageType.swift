import BillsyncJSON
import Foundation

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
    case workerStatus = "worker-status"
    case silence = "silence"
    case operatorActivity = "operator-activity"
    case alertState = "alert-state"
    case hierarchyFact = "hierarchy-fact"

    public var schemaFileName: String { "\(rawValue).v1.schema.json" }
}

/// A payload type and the message type it travels as.
public protocol MessagePayload: Codable, Sendable, Hashable {
    static var messageType: MessageType { get }
    /// The message types this payload can be read from; by default only `messageType`.
    static func accepts(_ type: MessageType) -> Bool
    /// Reads the payload from an already validated document. The default goes through
    /// `Codable`; types on a hot path read the tree directly instead of parsing the bytes again.
    init(validated payload: JSONValue) throws
    /// The payload as a JSON tree, to be validated and written without a second parse.
    func jsonValue() throws -> JSONValue
}

extension MessagePayload {
    public static func accepts(_ type: MessageType) -> Bool { type == messageType }

    public init(validated payload: JSONValue) throws {
        self = try JSONDecoder().decode(Self.self, from: Data(payload.serialized()))
    }

    public func jsonValue() throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try JSONParser.parse([UInt8](encoder.encode(self)))
    }
}

extension MessageType {
    /// The record types the extractor publishes.
    public static let billingRecords: Set<MessageType> = [
        .billingAccount, .billingContact, .billingPremise, .billingServiceAgreement, .billingBill,
        .billingFinancialTransaction, .billingMeterReading, .billingTariff, .billingProduct,
    ]
}
