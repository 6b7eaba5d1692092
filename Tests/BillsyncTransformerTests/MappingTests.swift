import BillsyncContracts
import BillsyncMapping
import BillsyncJSON
@testable import BillsyncTransformer
import BillsyncTestSupport
import Foundation
import Testing

@Suite("Each mapping rule cleans, converts or rejects exactly as stated")
struct MappingRuleTests {
    static let cases: [(MappingRule, MappedValue, Result<MappedValue, String>)] = [
        (.trim, .text("  0001234567 "), .success(.text("0001234567"))),
        (.trim, .text("   "), .success(.absent)),
        (.upper, .text("vic"), .success(.text("VIC"))),
        (.lower, .text("A@B.COM"), .success(.text("a@b.com"))),
        (.required, .absent, .failure("is required")),
        (.required, .text("x"), .success(.text("x"))),
        (.money(scale: 2, rounding: .halfEven), .text("1523.405"), .success(.decimal(Decimal(string: "1523.4")!))),
        (.money(scale: 2, rounding: .halfEven), .text("1523.415"), .success(.decimal(Decimal(string: "1523.42")!))),
        (.money(scale: 2, rounding: .halfUp), .text("1523.405"), .success(.decimal(Decimal(string: "1523.41")!))),
        (.money(scale: 2, rounding: .down), .text("-0.019"), .success(.decimal(Decimal(string: "-0.01")!))),
        (.money(scale: 2, rounding: .halfEven), .text("12,50"), .failure("'12,50' is not an amount")),
        (.date(formats: ["dd/MM/yyyy", "yyyy-MM-dd"]), .text("14/11/2026"), .success(.text("2026-11-14"))),
        (.date(formats: ["dd/MM/yyyy", "yyyy-MM-dd"]), .text("2026-11-14"), .success(.text("2026-11-14"))),
        (.date(formats: ["dd/MM/yyyy"]), .text("30/02/2026"), .failure("'30/02/2026' is not a date in dd/MM/yyyy")),
        (.range(minimum: 0, maximum: nil), .text("-12.5"), .failure("-12.5 is below the minimum 0")),
        (.range(minimum: 0, maximum: 100), .text("100"), .success(.text("100"))),
        (.nmiChecksum, .text("63050001234"), .failure("'63050001234' does not have a valid NMI check digit")),
        (.nmiChecksum, .text("VAAA0000657"), .success(.text("VAAA0000657"))),
        (.email, .text("mei@example.com"), .success(.text("mei@example.com"))),
        (.email, .text("mei at example"), .failure("'mei at example' is not an email address")),
        (.oneOf(["C1", "C2", "C3"]), .text("C4"), .failure("'C4' is not one of C1, C2, C3")),
        (.maxLength(3), .text("abcd"), .failure("is 4 characters, at most 3 are allowed")),
        (.lookup("tariffs"), .text("EA010"), .success(.text("Residential flat rate"))),
        (.lookup("tariffs"), .text("XYZ"), .failure("'XYZ' is not in the tariffs table")),
    ]

    @Test("table of rules, inputs and outcomes", arguments: cases.indices)
    func rule(index: Int) {
        let (rule, input, expected) = Self.cases[index]
        let lookups = ["tariffs": ["EA010": "Residential flat rate"]]
        do throws(MappingRejection) {
            let output = try rule.apply(input, field: "field", lookups: lookups)
            #expect(expected == .success(output), "\(rule.name) on \(input)")
        } catch {
            #expect(expected == .failure(error.message), "\(rule.name) on \(input)")
            #expect(error.rule == rule.name && error.field == "field")
        }
    }
}

@Suite("The email rule accepts exactly what its regular expression describes")
struct EmailRuleTests {
    static let addresses = [
        "mei@example.com", "a@b.c", "mei@example", "@example.com", "mei@", "mei@.com", "mei@example.", "mei@@example.com",
        "mei@exa@mple.com", "mei @example.com", "mei@example.com ", "mei\u{A0}x@example.com", "mei@ex\u{2003}ample.com",
        "mei.lin@mail.example.com.au", "mei@a.b.", "mei@.b.c", "Ωμέγα@παράδειγμα.ελ", "", "@", "a@b", "a@.", "a@b..",
    ]

    @Test("the hand-written check and the regular expression agree", arguments: addresses)
    func agreesWithTheRegularExpression(address: String) throws {
        let expression = try NSRegularExpression(pattern: #"^(?:[^@\s]+@[^@\s]+\.[^@\s]+)$"#)
        let matched = expression.firstMatch(in: address, range: NSRange(address.startIndex..., in: address)) != nil
        #expect(MappingRule.isEmailAddress(address) == matched, "\(address)")
    }
}

extension String: @retroactive Error {}

@Suite("The mapping file turns raw records into upserts and names the line of any mistake")
struct MappingDocumentTests {

    func mapper() throws -> RecordMapper {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mapping-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data("TariffCode,Name\nEA010,Residential flat rate\n".utf8).write(to: directory.appendingPathComponent("tariffs.csv"))
        let yaml = try String(contentsOf: TestRepository.mappingFile, encoding: .utf8)
        return try RecordMapper(document: MappingDocument(yaml: yaml), lookupDirectory: directory)
    }

    @Test("seed 000's row (CustomerID, AmountDue, LastBillDate) becomes Amount_Due__c and Last_Bill_Date__c on the Account")
    func seedRow() throws {
        let bill = try JSONParser.parse(#"{"billId":"B1","accountId":"ACC-1","customerId":"0001234567","amountDue":"1523.40","dueDate":"2026-12-14","lastBillDate":"2026-11-14","currency":"AUD","status":"issued"}"#)
        let results = try mapper().map(bill, type: .billingBill)
        let upsert = try #require(try results.first?.get())
        #expect(upsert.object == "Account")
        #expect(upsert.externalIdField == "Billing_Customer_Id__c")
        #expect(upsert.externalId == "0001234567")
        #expect(upsert.fields["Amount_Due__c"] == .decimal(Decimal(string: "1523.40")!))
        #expect(upsert.fields["Last_Bill_Date__c"] == .string("2026-11-14"))
        #expect(upsert.fields["Due_Date__c"] == .string("2026-12-14"))
        #expect(upsert.fields["FYTD_Revenue__c"] == nil)
    }

    @Test("a premise with a wrong NMI check digit is rejected naming the rule and the field")
    func badPremise() throws {
        let premise = try JSONParser.parse(#"{"premiseId":"P","accountId":"A","nmi":"63050001234","address":{"line1":"1 A St","suburb":"X","state":"VIC","postcode":"3000"},"active":true,"serviceStartDate":"2019-07-01","tariffCode":"EA010"}"#)
        guard case let .failure(rejection)? = try mapper().map(premise, type: .billingPremise).first else {
            Issue.record("accepted a wrong check digit"); return
        }
        #expect(rejection.rule == "nmi-checksum")
        #expect(rejection.pointer == "/payload/nmi")
    }

    @Test("a meter reading is keyed by meter and date, and a negative reading is rejected")
    func readings() throws {
        let good = try JSONParser.parse(#"{"meterId":"M1","nmi":"VAAA0000657","readingDate":"2026-11-15","reading":"18734.125","unit":"kWh","quality":"A"}"#)
        let upsert = try #require(try mapper().map(good, type: .billingMeterReading).first?.get())
        #expect(upsert.externalId == "M1|2026-11-15")
        #expect(upsert.fields["Reading__c"] == .decimal(Decimal(string: "18734.125")!))
        let negative = try JSONParser.parse(#"{"meterId":"M1","nmi":"VAAA0000657","readingDate":"2026-11-15","reading":"-1","unit":"kWh","quality":"A"}"#)
        guard case let .failure(rejection)? = try mapper().map(negative, type: .billingMeterReading).first else { Issue.record("accepted"); return }
        #expect(rejection.rule == "range" && rejection.field == "reading")
    }

    @Test("the data mapping document is written from the same file: source field, rules, target, refresh")
    func documentation() throws {
        let markdown = MappingDocumentation.markdown(try mapper().document)
        #expect(markdown.contains("## billing-bill → Account"))
        #expect(markdown.contains("Matched on `Account.Billing_Customer_Id__c` = `customerId`. Refresh: every 4 hours."))
        #expect(markdown.contains("| `amountDue` | required; amount, 2 decimals, rounded half-even | `Account.Amount_Due__c` |"))
        #expect(markdown.contains("| `lastBillDate` | required; date from yyyy-MM-dd, written YYYY-MM-DD | `Account.Last_Bill_Date__c` |"))
        #expect(markdown.contains("| `tariffCode` | looked up in tariffs | `Service_Point__c.Tariff__c` |"))
    }

    @Test("mistakes in the mapping file name their line", arguments: [
        ("version: 2\nobjects: []\n", 1, "version must be 1"),
        ("version: 1\nobjects:\n  - source: billing-invoice\n    object: Account\n", 3, "source must be a message type"),
        ("version: 1\nobjects:\n  - source: billing-bill\n    object: Account\n    externalId: { field: X, from: customerId }\n    fields:\n      - { from: amountDue, to: A, rules: [roundish] }\n", 7, "unknown rule 'roundish'"),
        ("version: 1\nobjects:\n  - source: billing-bill\n    objekt: Account\n", 4, "unknown key 'objekt'"),
        ("version: 1\nobjects:\n  - source: billing-bill\n    object: Account\n    externalId: { field: X, from: customerId }\n    fields:\n      - { from: tariffCode, to: T, rules: [{ lookup: tariffs }] }\n", 7, "lookup names a table that is not under lookups"),
        ("version: 1\nobjects: [\n", 3, "not valid YAML"),
    ])
    func errors(yaml: String, line: Int, message: String) {
        do {
            _ = try MappingDocument(yaml: yaml)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.message.hasPrefix(message) || error.message.contains(message), "\(error)")
        }
    }
}
