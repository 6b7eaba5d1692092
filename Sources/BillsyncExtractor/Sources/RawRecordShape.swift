import BillsyncContracts
import BillsyncJSON

/// How a source's records (snake_case JSON from the billing API, columns from SQL) become raw
/// payloads: names in camelCase, a few renamed, bookkeeping columns dropped, nulls left out (an
/// absent optional field and a null one mean the same to the contracts; a missing required one is
/// then reported as missing). The contract decides whether the result is valid.
public struct RawRecordShape: Sendable {
    /// The raw topic's entity (`account` → `billsync.raw.account`).
    public let entity: String
    public let type: MessageType
    /// Payload fields whose values, joined by `|`, are the business key.
    public let keyFields: [String]
    /// Source name (after camelCase) → payload name.
    public let renames: [String: String]
    public let dropped: Set<String>

    public init(entity: String, type: MessageType, keyFields: [String], renames: [String: String] = [:],
                dropped: Set<String> = ["updatedAt"]) {
        self.entity = entity
        self.type = type
        self.keyFields = keyFields
        self.renames = renames
        self.dropped = dropped
    }

    /// The billing engine API's entities, as its export names them.
    public static let billingAPI: [String: RawRecordShape] = [
        "accounts": RawRecordShape(entity: "account", type: .billingAccount, keyFields: ["customerId"], renames: ["address": "primaryAddress"]),
        "contacts": RawRecordShape(entity: "contact", type: .billingContact, keyFields: ["customerId"]),
        "premises": RawRecordShape(entity: "premise", type: .billingPremise, keyFields: ["nmi"]),
        "bills": RawRecordShape(entity: "bill", type: .billingBill, keyFields: ["customerId"], renames: ["fytdRevenue": "fiscalYearToDateRevenue"]),
        "meter-readings": RawRecordShape(entity: "meter-reading", type: .billingMeterReading, keyFields: ["nmi"]),
        "tariffs": RawRecordShape(entity: "tariff", type: .billingTariff, keyFields: ["tariffCode"]),
    ]

    public func payload(from record: JSONValue) -> JSONValue {
        guard case let .object(members) = record else { return record }
        var payload = JSONObject()
        for name in members.keys {
            let camel = Self.camelCase(name)
            let target = renames[camel] ?? camel
            guard !dropped.contains(target), let value = members[name], value != .null else { continue }
            payload[target] = value
        }
        return .object(payload)
    }

    /// The business key; nil when a key field is missing (the record is then refused).
    public func key(of payload: JSONValue) -> String? {
        let parts = keyFields.compactMap { payload[$0]?.stringValue }
        return parts.count == keyFields.count && !parts.contains("") ? parts.joined(separator: "|") : nil
    }

    static func camelCase(_ name: String) -> String {
        let parts = name.split(separator: "_")
        guard let first = parts.first else { return name }
        return String(first) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}
