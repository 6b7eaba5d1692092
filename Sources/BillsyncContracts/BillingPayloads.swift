/// Payloads the extractor publishes, one per billing record (`Schemas/billing-*.v1.schema.json`).

public enum Commodity: String, Codable, Sendable, Hashable { case electricity, gas }

public struct PostalAddress: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable, Hashable { case ACT, NSW, NT, QLD, SA, TAS, VIC, WA }

    public var line1: String
    public var line2: String?
    public var suburb: String
    public var state: State
    /// Four digits, kept as text ("0800" is Darwin).
    public var postcode: String

    public init(line1: String, line2: String? = nil, suburb: String, state: State, postcode: String) {
        self.line1 = line1
        self.line2 = line2
        self.suburb = suburb
        self.state = state
        self.postcode = postcode
    }
}

public struct BillingAccount: MessagePayload {
    public static let messageType = MessageType.billingAccount

    public enum AccountType: String, Codable, Sendable, Hashable { case residential, commercial }
    /// C1 enterprise parent, C2 subsidiary or division, C3 service account.
    public enum HierarchyLevel: String, Codable, Sendable, Hashable { case C1, C2, C3 }
    public enum Status: String, Codable, Sendable, Hashable { case active, inactive, closed }

    /// Digits with their leading zeros: never a number.
    public var customerId: String
    public var accountId: String
    public var personId: String?
    public var name: String
    public var accountType: AccountType
    public var hierarchyLevel: HierarchyLevel?
    public var parentAccountId: String?
    public var industry: String?
    public var accountRepresentative: String?
    public var businessDescription: String?
    public var primaryAddress: PostalAddress?
    public var email: String?
    public var phone: String?
    public var status: Status

    public init(customerId: String, accountId: String, personId: String? = nil, name: String, accountType: AccountType,
                hierarchyLevel: HierarchyLevel? = nil, parentAccountId: String? = nil, industry: String? = nil,
                accountRepresentative: String? = nil, businessDescription: String? = nil, primaryAddress: PostalAddress? = nil,
                email: String? = nil, phone: String? = nil, status: Status) {
        self.customerId = customerId
        self.accountId = accountId
        self.personId = personId
        self.name = name
        self.accountType = accountType
        self.hierarchyLevel = hierarchyLevel
        self.parentAccountId = parentAccountId
        self.industry = industry
        self.accountRepresentative = accountRepresentative
        self.businessDescription = businessDescription
        self.primaryAddress = primaryAddress
        self.email = email
        self.phone = phone
        self.status = status
    }
}

public struct BillingContact: MessagePayload {
    public static let messageType = MessageType.billingContact

    public var contactId: String
    public var accountId: String
    public var customerId: String
    public var firstName: String?
    public var lastName: String
    public var email: String?
    public var phone: String?
    public var mailingAddress: PostalAddress?
    public var isPrimary: Bool

    public init(contactId: String, accountId: String, customerId: String, firstName: String? = nil, lastName: String,
                email: String? = nil, phone: String? = nil, mailingAddress: PostalAddress? = nil, isPrimary: Bool) {
        self.contactId = contactId
        self.accountId = accountId
        self.customerId = customerId
        self.firstName = firstName
        self.lastName = lastName
        self.email = email
        self.phone = phone
        self.mailingAddress = mailingAddress
        self.isPrimary = isPrimary
    }
}

public struct BillingPremise: MessagePayload {
    public static let messageType = MessageType.billingPremise

    public var premiseId: String
    public var accountId: String
    /// National Metering Identifier, with its checksum digit when the source has it.
    public var nmi: String
    public var address: PostalAddress
    public var active: Bool
    public var serviceStartDate: LocalDate
    public var serviceEndDate: LocalDate?
    public var meterIds: [String]?
    public var tariffCode: String?

    public init(premiseId: String, accountId: String, nmi: String, address: PostalAddress, active: Bool,
                serviceStartDate: LocalDate, serviceEndDate: LocalDate? = nil, meterIds: [String]? = nil, tariffCode: String? = nil) {
        self.premiseId = premiseId
        self.accountId = accountId
        self.nmi = nmi
        self.address = address
        self.active = active
        self.serviceStartDate = serviceStartDate
        self.serviceEndDate = serviceEndDate
        self.meterIds = meterIds
        self.tariffCode = tariffCode
    }
}

public struct BillingServiceAgreement: MessagePayload {
    public static let messageType = MessageType.billingServiceAgreement

    public enum Status: String, Codable, Sendable, Hashable { case pending, active, stopped, closed }

    public var serviceAgreementId: String
    public var accountId: String
    public var premiseId: String?
    /// The billing engine's SA type code (e.g. E-RES).
    public var type: String
    public var commodity: Commodity
    public var status: Status
    public var startDate: LocalDate
    public var endDate: LocalDate?

    public init(serviceAgreementId: String, accountId: String, premiseId: String? = nil, type: String, commodity: Commodity,
                status: Status, startDate: LocalDate, endDate: LocalDate? = nil) {
        self.serviceAgreementId = serviceAgreementId
        self.accountId = accountId
        self.premiseId = premiseId
        self.type = type
        self.commodity = commodity
        self.status = status
        self.startDate = startDate
        self.endDate = endDate
    }
}

public struct BillingBill: MessagePayload {
    public static let messageType = MessageType.billingBill

    public enum Status: String, Codable, Sendable, Hashable { case issued, paid, overdue, cancelled }

    public var billId: String
    public var accountId: String
    public var customerId: String
    public var amountDue: Money
    public var dueDate: LocalDate
    public var lastBillDate: LocalDate
    public var fiscalYearToDateRevenue: Money?
    public var currency: String
    public var status: Status

    public init(billId: String, accountId: String, customerId: String, amountDue: Money, dueDate: LocalDate,
                lastBillDate: LocalDate, fiscalYearToDateRevenue: Money? = nil, status: Status) {
        self.billId = billId
        self.accountId = accountId
        self.customerId = customerId
        self.amountDue = amountDue
        self.dueDate = dueDate
        self.lastBillDate = lastBillDate
        self.fiscalYearToDateRevenue = fiscalYearToDateRevenue
        self.currency = "AUD"
        self.status = status
    }
}

public struct BillingFinancialTransaction: MessagePayload {
    public static let messageType = MessageType.billingFinancialTransaction

    public enum Kind: String, Codable, Sendable, Hashable { case bill, payment, adjustment, refund }

    public var transactionId: String
    public var accountId: String
    public var serviceAgreementId: String
    public var kind: Kind
    public var amount: Money
    public var receivedDate: LocalDate

    public init(transactionId: String, accountId: String, serviceAgreementId: String, kind: Kind, amount: Money, receivedDate: LocalDate) {
        self.transactionId = transactionId
        self.accountId = accountId
        self.serviceAgreementId = serviceAgreementId
        self.kind = kind
        self.amount = amount
        self.receivedDate = receivedDate
    }
}

public struct BillingMeterReading: MessagePayload {
    public static let messageType = MessageType.billingMeterReading

    public enum Unit: String, Codable, Sendable, Hashable, CaseIterable { case kWh, kW, kVArh, kVA, MJ, m3 }
    /// AEMO quality flags: actual, estimated, final substituted, substituted, null.
    public enum Quality: String, Codable, Sendable, Hashable { case A, E, F, S, N }

    public var meterId: String
    public var nmi: String
    public var readingDate: LocalDate
    public var reading: Quantity
    public var unit: Unit
    public var quality: Quality

    public init(meterId: String, nmi: String, readingDate: LocalDate, reading: Quantity, unit: Unit, quality: Quality) {
        self.meterId = meterId
        self.nmi = nmi
        self.readingDate = readingDate
        self.reading = reading
        self.unit = unit
        self.quality = quality
    }
}

public struct BillingTariff: MessagePayload {
    public static let messageType = MessageType.billingTariff

    public var tariffCode: String
    public var name: String
    public var commodity: Commodity
    public var unitRate: Rate
    public var dailySupplyCharge: Rate
    public var effectiveFrom: LocalDate
    public var effectiveTo: LocalDate?

    public init(tariffCode: String, name: String, commodity: Commodity, unitRate: Rate, dailySupplyCharge: Rate,
                effectiveFrom: LocalDate, effectiveTo: LocalDate? = nil) {
        self.tariffCode = tariffCode
        self.name = name
        self.commodity = commodity
        self.unitRate = unitRate
        self.dailySupplyCharge = dailySupplyCharge
        self.effectiveFrom = effectiveFrom
        self.effectiveTo = effectiveTo
    }
}

public struct BillingProduct: MessagePayload {
    public static let messageType = MessageType.billingProduct

    public enum Family: String, Codable, Sendable, Hashable { case electricity, gas, solar, bundle }

    public var productCode: String
    public var name: String
    public var description: String?
    public var family: Family
    public var tariffCode: String?
    public var active: Bool

    public init(productCode: String, name: String, description: String? = nil, family: Family, tariffCode: String? = nil, active: Bool) {
        self.productCode = productCode
        self.name = name
        self.description = description
        self.family = family
        self.tariffCode = tariffCode
        self.active = active
    }
}
