import BillsyncContracts
import BillsyncJSON
import Foundation

/// One step applied to a field's value on its way to the CRM: a clean-up (trim, case), a type
/// conversion (money, date) or a check that rejects the record (required, range, NMI, email,
/// enumeration, length).
public enum MappingRule: Sendable, Equatable {
    /// How an amount with more decimals than the target is rounded: half-even (banker's, the
    /// default), half-up (away from zero at .5), or down (toward zero: truncated).
    public enum Rounding: String, Sendable {
        case halfEven = "half-even", halfUp = "half-up", down
        func mode(for value: Decimal) -> NSDecimalNumber.RoundingMode {
            switch self {
            case .halfEven: .bankers
            case .halfUp: .plain
            // Foundation's .down is toward negative infinity; truncation is toward zero.
            case .down: value < 0 ? .up : .down
            }
        }
    }

    case trim
    case upper
    case lower
    case required
    case money(scale: Int16, rounding: Rounding)
    /// Accepted input formats (`yyyy-MM-dd`, `dd/MM/yyyy`, …); the output is always an ISO date.
    case date(formats: [String])
    case range(minimum: Decimal?, maximum: Decimal?)
    case nmiChecksum
    case email
    case oneOf([String])
    case maxLength(Int)
    /// Replaces the value by the named lookup table's entry; a value missing from it is rejected.
    case lookup(String)

    public var name: String {
        switch self {
        case .trim: "trim"
        case .upper: "upper"
        case .lower: "lower"
        case .required: "required"
        case .money: "money"
        case .date: "date"
        case .range: "range"
        case .nmiChecksum: "nmi-checksum"
        case .email: "email"
        case .oneOf: "one-of"
        case .maxLength: "max-length"
        case let .lookup(table): "lookup:\(table)"
        }
    }
}

/// A value on its way through the rules: text until a rule makes it a number or a date.
public enum MappedValue: Sendable, Equatable {
    case absent
    case text(String)
    case decimal(Decimal)
    case bool(Bool)

    init(_ json: JSONValue?) {
        switch json {
        case nil, .null?: self = .absent
        case let .string(text)?: self = .text(text)
        case let .number(number)?: self = .decimal(number.decimal)
        case let .bool(value)?: self = .bool(value)
        default: self = .absent
        }
    }

    var text: String? {
        switch self {
        case let .text(text): text
        case let .decimal(decimal): "\(decimal)"
        case let .bool(value): String(value)
        case .absent: nil
        }
    }
}

/// Why a record was rejected: the rule and field, for the dead letter and the person reading it.
public struct MappingRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public let rule: String
    /// The source field's path (`primaryAddress.postcode`).
    public let field: String
    public let message: String

    public var description: String { "\(field): \(message) [\(rule)]" }
    /// The JSON pointer of the field in the message.
    public var pointer: String { "/payload/" + field.replacingOccurrences(of: ".", with: "/") }
}

extension MappingRule {
    /// Applies the rule; `lookups` holds the reference tables.
    func apply(_ value: MappedValue, field: String, lookups: [String: [String: String]]) throws(MappingRejection) -> MappedValue {
        func reject(_ message: String) -> MappingRejection { MappingRejection(rule: name, field: field, message: message) }
        switch self {
        case .trim:
            guard case let .text(text) = value else { return value }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return trimmed.isEmpty ? .absent : .text(trimmed)
        case .upper:
            guard case let .text(text) = value else { return value }
            return .text(text.uppercased())
        case .lower:
            guard case let .text(text) = value else { return value }
            return .text(text.lowercased())
        case .required:
            if case .absent = value { throw reject("is required") }
            if case let .text(text) = value, text.isEmpty { throw reject("is required") }
            return value
        case let .money(scale, rounding):
            guard let text = value.text else { return value }
            guard let decimal = ExactDecimal(parsing: text)?.value else { throw reject("'\(text)' is not an amount") }
            var input = decimal
            var rounded = Decimal()
            NSDecimalRound(&rounded, &input, Int(scale), rounding.mode(for: decimal))
            return .decimal(rounded)
        case let .date(formats):
            guard let text = value.text else { return value }
            for format in formats {
                if let date = Self.parseDate(text, format: format) { return .text(date) }
            }
            throw reject("'\(text)' is not a date in \(formats.joined(separator: " or "))")
        case let .range(minimum, maximum):
            guard let text = value.text else { return value }
            guard let number = Decimal(string: text) else { throw reject("'\(text)' is not a number") }
            if let minimum, number < minimum { throw reject("\(number) is below the minimum \(minimum)") }
            if let maximum, number > maximum { throw reject("\(number) is above the maximum \(maximum)") }
            return value
        case .nmiChecksum:
            guard let text = value.text else { return value }
            guard NationalMeteringIdentifier.isValid(text) else { throw reject("'\(text)' does not have a valid NMI check digit") }
            return value
        case .email:
            guard let text = value.text else { return value }
            guard text.range(of: #"^[^@\s]+@[^@\s]+\.[^@\s]+$"#, options: .regularExpression) != nil else {
                throw reject("'\(text)' is not an email address")
            }
            return value
        case let .oneOf(allowed):
            guard let text = value.text else { return value }
            guard allowed.contains(text) else { throw reject("'\(text)' is not one of \(allowed.joined(separator: ", "))") }
            return value
        case let .maxLength(limit):
            guard let text = value.text else { return value }
            guard text.count <= limit else { throw reject("is \(text.count) characters, at most \(limit) are allowed") }
            return value
        case let .lookup(table):
            guard let text = value.text else { return value }
            guard let found = lookups[table]?[text] else { throw reject("'\(text)' is not in the \(table) table") }
            return .text(found)
        }
    }

    /// `yyyy`, `MM`, `dd` patterns with any separators, checked against the calendar.
    static func parseDate(_ text: String, format: String) -> String? {
        guard text.count == format.count else { return nil }
        var year = "", month = "", day = ""
        for (character, pattern) in zip(text, format) {
            switch pattern {
            case "y": guard character.isASCII, character.isNumber else { return nil }; year.append(character)
            case "M": guard character.isASCII, character.isNumber else { return nil }; month.append(character)
            case "d": guard character.isASCII, character.isNumber else { return nil }; day.append(character)
            default: guard character == pattern else { return nil }
            }
        }
        guard year.count == 4, let y = Int(year), let m = Int(month), let d = Int(day), (1...12).contains(m), d >= 1 else { return nil }
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
        guard d <= [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] else { return nil }
        return String(format: "%04d-%02d-%02d", y, m, d)
    }
}
