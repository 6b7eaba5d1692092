import Foundation

/// One step applied to a value on its way from a source to the CRM: a clean-up (trim, case,
/// control characters), a conversion from a source's representation (numbers with separators
/// and currency signs, day-first dates, local timestamps, value maps, yes/no flags) or a check
/// that refuses the record (required, range, pattern, NMI, email, enumeration, length).
///
/// The extractor applies these to a source's columns to build canonical billing records; the
/// transformer applies them to canonical fields on their way to CRM fields. One vocabulary, one
/// implementation: a rule written in either mapping file means the same thing.
public enum MappingRule: Sendable, Equatable {
    /// How an amount with more decimals than its scale is treated: rounded half-even (banker's,
    /// the default), half-up (away from zero at .5), down (toward zero: truncated), or refused.
    public enum Rounding: String, Sendable, CaseIterable {
        case halfEven = "half-even", halfUp = "half-up", down, refuse
    }

    /// What to do with a control character (C0 but tab, and DEL) in a value.
    public enum ControlCharacters: String, Sendable, CaseIterable {
        /// The record is refused, naming the character and where it is.
        case refuse
        /// The characters are removed (an export known to pad with NULs).
        case remove
    }

    case trim
    case upper
    case lower
    case required
    /// An amount: rounded to `scale` decimals. Read by the transformer from canonical decimals.
    case money(scale: Int16, rounding: Rounding)
    /// A number as a source writes it (`1.234,50`, `$12.30`), made a plain decimal string.
    case number(NumberFormat)
    /// Accepted input patterns (`yyyy-MM-dd`, `dd/MM/yyyy`, `d/M/yyyy`); the output is an ISO date.
    case date(formats: [String])
    /// Accepted input patterns with a time (`dd/MM/yyyy HH:mm`), read in `timeZone` unless the
    /// text carries its own offset (`xxx`); the output is RFC 3339 with the offset.
    case timestamp(formats: [String], timeZone: String)
    case range(minimum: Decimal?, maximum: Decimal?)
    case nmiChecksum
    case email
    case oneOf([String])
    case maxLength(Int)
    /// Replaces the value by the named lookup table's entry; a value missing from it is refused.
    case lookup(String)
    /// Replaces a source's code by the canonical value (`R` → `residential`), compared without
    /// regard to case; a code not in the map is refused.
    case valueMap([String: String])
    /// A yes/no flag: the listed words (any case) become true or false; anything else is refused.
    case boolean(trueWords: [String], falseWords: [String])
    /// The whole value must match the regular expression.
    case pattern(String)
    case controlCharacters(ControlCharacters)

    public var name: String {
        switch self {
        case .trim: "trim"
        case .upper: "upper"
        case .lower: "lower"
        case .required: "required"
        case .money: "money"
        case .number: "number"
        case .date: "date"
        case .timestamp: "timestamp"
        case .range: "range"
        case .nmiChecksum: "nmi-checksum"
        case .email: "email"
        case .oneOf: "one-of"
        case .maxLength: "max-length"
        case let .lookup(table): "lookup:\(table)"
        case .valueMap: "map"
        case .boolean: "boolean"
        case .pattern: "pattern"
        case .controlCharacters: "control-characters"
        }
    }
}

/// How a source writes numbers: its decimal and thousands separators, the currency signs it may
/// put before or after an amount, and how many decimals the canonical value keeps.
public struct NumberFormat: Sendable, Equatable {
    public var decimalSeparator: Character
    public var thousandsSeparator: Character?
    public var currencySigns: [String]
    /// nil keeps every decimal written.
    public var scale: Int16?
    public var rounding: MappingRule.Rounding

    public init(decimalSeparator: Character = ".", thousandsSeparator: Character? = nil, currencySigns: [String] = [],
                scale: Int16? = nil, rounding: MappingRule.Rounding = .refuse) {
        self.decimalSeparator = decimalSeparator
        self.thousandsSeparator = thousandsSeparator
        self.currencySigns = currencySigns
        self.scale = scale
        self.rounding = rounding
    }
}

/// A value on its way through the rules: text until a rule makes it a number or a flag.
public enum MappedValue: Sendable, Equatable {
    case absent
    case text(String)
    case decimal(Decimal)
    case bool(Bool)

    public var text: String? {
        switch self {
        case let .text(text): text
        case let .decimal(decimal): "\(decimal)"
        case let .bool(value): String(value)
        case .absent: nil
        }
    }
}

/// Why a record was refused: the rule and field, for the dead letter and the person reading it.
public struct MappingRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public let rule: String
    /// The field's path (`primaryAddress.postcode`) or, in a source mapping, its column.
    public let field: String
    public let message: String

    public init(rule: String, field: String, message: String) {
        self.rule = rule
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message) [\(rule)]" }
    /// The JSON pointer of the field in the message.
    public var pointer: String { "/payload/" + field.replacingOccurrences(of: ".", with: "/") }
}
