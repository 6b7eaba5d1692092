import BillsyncMapping
import Foundation
import Testing
import Yams

@Suite("The shared rules turn a source's representation into canonical values, or refuse it saying why")
struct RuleVocabularyTests {
    static func rule(_ yaml: String, timeZone: String = "Australia/Sydney") throws -> MappingRule {
        try MappingRule(node: #require(try Yams.compose(yaml: yaml)), context: MappingRule.Context(timeZone: timeZone))
    }

    @Test("numbers: separators, currency signs, scale and refusal", arguments: [
        ("{ number: { thousands: \",\", currency: [$], scale: 2 } }", "$1,234.50", "1234.50"),
        ("{ number: { thousands: \",\", currency: [$], scale: 2 } }", "-$12.30", "-12.30"),
        ("{ number: { thousands: \",\", currency: [$, AUD], scale: 2 } }", "12.30 AUD", "12.30"),
        ("{ number: { decimal: \",\", thousands: \".\", scale: 2 } }", "1.234,5", "1234.5"),
        ("{ number: { decimal: \",\", scale: 4 } }", "1234,5678", "1234.5678"),
        ("{ number: { scale: 2, rounding: half-even } }", "2.345", "2.34"),
        ("{ number: { scale: 2, rounding: half-up } }", "2.345", "2.35"),
        ("{ number: { scale: 2, rounding: down } }", "-2.349", "-2.34"),
        ("number", "0012.50", "0012.50"),
    ])
    func numbers(rule: String, input: String, output: String) throws {
        #expect(try Self.rule(rule).apply(.text(input), field: "amount") == .text(output))
    }

    @Test("numbers that are not in the declared format are refused", arguments: [
        ("{ number: { thousands: \",\", scale: 2 } }", "1,23.40", "'1,23.40' does not group thousands by three with ','"),
        ("{ number: { scale: 2 } }", "1,234.50", "'1,234.50' is not a number"),
        ("{ number: { scale: 2 } }", "$12.30", "'$12.30' is not a number"),
        ("{ number: { scale: 2, rounding: refuse } }", "1.005", "'1.005' has more than 2 decimals"),
        ("{ number: { decimal: \",\" } }", "1,2,3", "'1,2,3' has more than one decimal separator ','"),
    ])
    func badNumbers(rule: String, input: String, message: String) throws {
        #expect(throws: MappingRejection(rule: "number", field: "amount", message: message)) {
            try Self.rule(rule).apply(.text(input), field: "amount")
        }
    }

    @Test("dates in the source's patterns become ISO dates, checked against the calendar", arguments: [
        ("{ date: [dd/MM/yyyy] }", "31/12/2025", "2025-12-31"),
        ("{ date: [d/M/yyyy] }", "1/7/2019", "2019-07-01"),
        ("{ date: [d/M/yyyy] }", "29/2/2024", "2024-02-29"),
        ("{ date: [yyyyMMdd] }", "20261114", "2026-11-14"),
        ("{ date: [dd.MM.yyyy, yyyy-MM-dd] }", "2026-11-14", "2026-11-14"),
    ])
    func dates(rule: String, input: String, output: String) throws {
        #expect(try Self.rule(rule).apply(.text(input), field: "day") == .text(output))
    }

    @Test("an impossible or foreign date is refused", arguments: ["29/2/2025", "31/04/2026", "2026-11-14", "1/13/2026", "01/01/26"])
    func badDates(input: String) throws {
        #expect(throws: MappingRejection.self) { try Self.rule("{ date: [d/M/yyyy] }").apply(.text(input), field: "day") }
    }

    @Test("local times are read in the source's time zone, across daylight saving, unless they carry an offset", arguments: [
        ("31/12/2025 14:30", "2025-12-31T14:30:00+11:00"),
        ("30/06/2026 09:05", "2026-06-30T09:05:00+10:00"),
    ])
    func timestamps(input: String, output: String) throws {
        #expect(try Self.rule("{ timestamp: [dd/MM/yyyy HH:mm] }").apply(.text(input), field: "at") == .text(output))
        #expect(try Self.rule("{ timestamp: { formats: [\"yyyy-MM-dd HH:mm:ssxxx\"] } }").apply(.text("2026-03-01 10:00:00-05:00"), field: "at")
            == .text("2026-03-01T10:00:00-05:00"))
    }

    @Test("a local time skipped by the change to daylight saving is refused")
    func skippedTime() throws {
        #expect(throws: MappingRejection.self) { try Self.rule("{ timestamp: [dd/MM/yyyy HH:mm] }").apply(.text("04/10/2026 02:30"), field: "at") }
    }

    @Test("value maps, yes/no flags and patterns", arguments: [
        ("{ map: { R: residential, C: commercial } }", "r", MappedValue.text("residential")),
        ("{ boolean: { true: [Y, Active], false: [N] } }", "active", .bool(true)),
        ("boolean", "no", .bool(false)),
        ("{ pattern: \"[0-9]{4}\" }", "3000", .text("3000")),
    ])
    func conversions(rule: String, input: String, output: MappedValue) throws {
        #expect(try Self.rule(rule).apply(.text(input), field: "f") == output)
    }

    @Test("a code the map does not know, a flag that is neither, and a partial pattern match are refused", arguments: [
        ("{ map: { R: residential } }", "X", "'X' is not one of R"),
        ("{ boolean: { true: [Y], false: [N] } }", "maybe", "'maybe' is not one of Y, N"),
        ("{ pattern: \"[0-9]{4}\" }", "30000", "'30000' does not match [0-9]{4}"),
    ])
    func refusedConversions(rule: String, input: String, message: String) throws {
        #expect { try Self.rule(rule).apply(.text(input), field: "f") } throws: { ($0 as? MappingRejection)?.message == message }
    }

    @Test("a rule written wrong is an error with its line", arguments: [
        ("{ number: { decimal: \",\", thousands: \",\" } }", "number's thousands separator is one character, not the decimal separator"),
        ("{ date: [dd/MM/yy] }", "'dd/MM/yy' is not a date pattern (yyyy, MM, M, dd, d)"),
        ("{ timestamp: { formats: [dd/MM/yyyy HH:mm], timezone: Mars/Olympus } }", "'Mars/Olympus' is not a time zone (e.g. Australia/Sydney)"),
        ("{ number: { scale: 2, rounding: sideways } }", "rounding must be half-even, half-up, down, refuse"),
        ("frobnicate", "unknown rule 'frobnicate' (rules: trim, upper, lower, required, money, number, date, timestamp, range, nmi-checksum, email, one-of, max-length, lookup, map, boolean, pattern, control-characters)"),
    ])
    func badRules(yaml: String, message: String) throws {
        #expect { try Self.rule(yaml) } throws: { ($0 as? MappingError)?.message == message }
    }
}
