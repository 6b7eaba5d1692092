import BillsyncContracts
import Foundation
import Testing

@Suite("Swift value → JSON → validated → Swift value is identical")
struct RoundTripTests {
    let contracts = Fixtures.contracts

    func roundTrip<Payload: MessagePayload>(_ message: MessageEnvelope<Payload>) throws -> MessageEnvelope<Payload> {
        let bytes = try contracts.encode(message)
        return try contracts.decode(bytes, as: Payload.self)
    }

    /// Decodes a valid example as its Swift type, writes it back, and reads that again.
    func reencode<Payload: MessagePayload>(_ bytes: [UInt8], as _: Payload.Type) throws {
        let first = try contracts.decode(bytes, as: Payload.self)
        let second = try roundTrip(first)
        #expect(second == first)
    }

    @Test("every valid example decodes into its Swift type and survives re-encoding unchanged")
    func validExamplesRoundTrip() throws {
        for example in Fixtures.allExamples where example.expectedValid {
            let type = try #require(MessageType(rawValue: example.type))
            switch type {
            case .billingAccount: try reencode(example.bytes, as: BillingAccount.self)
            case .billingContact: try reencode(example.bytes, as: BillingContact.self)
            case .billingPremise: try reencode(example.bytes, as: BillingPremise.self)
            case .billingServiceAgreement: try reencode(example.bytes, as: BillingServiceAgreement.self)
            case .billingBill: try reencode(example.bytes, as: BillingBill.self)
            case .billingFinancialTransaction: try reencode(example.bytes, as: BillingFinancialTransaction.self)
            case .billingMeterReading: try reencode(example.bytes, as: BillingMeterReading.self)
            case .billingTariff: try reencode(example.bytes, as: BillingTariff.self)
            case .billingProduct: try reencode(example.bytes, as: BillingProduct.self)
            case .crmUpsert: try reencode(example.bytes, as: CRMUpsert.self)
            case .crmLoadResult: try reencode(example.bytes, as: CRMLoadResult.self)
            case .deadLetter: try reencode(example.bytes, as: DeadLetter.self)
            case .alert: try reencode(example.bytes, as: Alert.self)
            case .syncReport: try reencode(example.bytes, as: SyncReport.self)
            case .workerStatus: try reencode(example.bytes, as: WorkerStatus.self)
            case .silence: try reencode(example.bytes, as: Silence.self)
            case .operatorActivity: try reencode(example.bytes, as: OperatorActivity.self)
            case .alertState: try reencode(example.bytes, as: AlertState.self)
            case .hierarchyFact: try reencode(example.bytes, as: HierarchyFact.self)
            }
        }
    }

    @Test("money keeps every digit, including the largest amount and negative cents")
    func moneyIsExact() throws {
        for amount in ["9999999999999.99", "-0.01", "0.1", "1523.4", "0"] {
            let bill = BillingBill(billId: "B-1", accountId: "A-1", customerId: "0000000042", amountDue: Money(parsing: amount)!,
                                   dueDate: LocalDate(year: 2026, month: 12, day: 14)!, lastBillDate: LocalDate(year: 2026, month: 11, day: 14)!,
                                   fiscalYearToDateRevenue: "8832.95", status: .issued)
            let message = MessageEnvelope(source: MessageSource(system: .csvDrop, name: "nightly"), businessKey: "0000000042",
                                          occurredAt: nil, payload: bill)
            let back = try roundTrip(message)
            #expect(back == message)
            #expect(back.payload.amountDue.value == Decimal(string: amount)!)
            #expect(back.payload.customerId == "0000000042")
            #expect(back.occurredAt == nil)
        }
    }

    @Test("decimal CRM field values are written as exact JSON numbers")
    func crmDecimalsAreExact() throws {
        let upsert = CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0000000042",
                               fields: ["Amount_Due__c": .decimal(Decimal(string: "12345678901234.57")!), "Name": .string("Ünïcødé ☕"),
                                        "Active__c": .bool(true), "Industry": .null])
        let message = MessageEnvelope(source: MessageSource(system: .billsync, name: "transformer"), businessKey: "0000000042",
                                      occurredAt: Timestamp(parsing: "2026-11-20T09:15:00.125+10:00"), payload: upsert)
        #expect(message.occurredAt?.date == Date(timeIntervalSince1970: 1_795_130_100.125))
        let bytes = try contracts.encode(message)
        #expect(String(decoding: bytes, as: UTF8.self).contains("12345678901234.57"))
        #expect(try roundTrip(message) == message)
    }

    @Test("a derived message keeps the lineage and names its cause")
    func derivedKeepsLineage() throws {
        let account = BillingAccount(customerId: "0001234567", accountId: "ACC-1", name: "Acme", accountType: .commercial,
                                     hierarchyLevel: .C1, status: .active)
        let raw = MessageEnvelope(source: MessageSource(system: .billingAPI, name: "ccb"), businessKey: "0001234567",
                                  occurredAt: .now, payload: account)
        let upsert = raw.derived(payload: CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c",
                                                    externalId: "0001234567", fields: [:]))
        #expect(upsert.correlationId == raw.correlationId)
        #expect(upsert.causationId == raw.id)
        #expect(upsert.type == .crmUpsert)
        #expect(try roundTrip(upsert) == upsert)
    }

    @Test("a message of another type is refused by name, not misread")
    func unexpectedTypeIsRefused() throws {
        let example = try #require(Fixtures.allExamples.first { $0.type == "billing-bill" && $0.expectedValid })
        #expect(throws: ContractViolation.self) { try contracts.decode(example.bytes, as: BillingAccount.self) }
        do {
            _ = try contracts.decode(example.bytes, as: BillingAccount.self)
        } catch {
            #expect(error.kind == .unexpectedType)
        }
    }
}
