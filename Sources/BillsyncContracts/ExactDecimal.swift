import Foundation

/// A decimal read from and written as a JSON string ("1234.50"), so an amount never passes
/// through binary floating point on its way between systems.
public struct ExactDecimal: Codable, Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var value: Decimal

    public init(_ value: Decimal) {
        self.value = value
    }

    /// nil when `text` is not a plain decimal number.
    public init?(parsing text: String) {
        guard text.range(of: #"^-?[0-9]+(\.[0-9]+)?$"#, options: .regularExpression) != nil,
              let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
        else { return nil }
        self.value = value
    }

    public init(stringLiteral text: String) {
        guard let parsed = ExactDecimal(parsing: text) else { preconditionFailure("\(text) is not a decimal") }
        self = parsed
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = ExactDecimal(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not a decimal string")
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The shortest exact text ("1234.5" for 1234.50).
    public var description: String { value.description }
}

/// Dollars, at most two decimals on the wire.
public typealias Money = ExactDecimal
/// A measured quantity (kWh, m³), at most four decimals on the wire.
public typealias Quantity = ExactDecimal
/// A tariff rate, at most six decimals on the wire.
public typealias Rate = ExactDecimal
