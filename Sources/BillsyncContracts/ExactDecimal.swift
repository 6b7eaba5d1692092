import Foundation

/// A decimal read from and written as a JSON string ("1234.50"), so an amount never passes
/// through binary floating point on its way between systems.
public struct ExactDecimal: Codable, Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var value: Decimal

    public init(_ value: Decimal) {
        self.value = value
    }

    /// nil when `text` is not a plain decimal number (`-12.50`: no sign but minus, no exponent,
    /// no separators). Read for every amount in every message, so checked by hand, not by regex.
    public init?(parsing text: String) {
        guard Self.fractionDigits(of: text) != nil, let value = Decimal(string: text, locale: Self.posix) else { return nil }
        self.value = value
    }

    private static let posix = Locale(identifier: "en_US_POSIX")

    /// How many digits follow the point in a plain decimal number, or nil when it is not one.
    public static func fractionDigits(of text: String) -> Int? {
        var bytes = Substring(text).utf8[...]
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        let integer = bytes.prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        guard !integer.isEmpty else { return nil }
        let rest = bytes.dropFirst(integer.count)
        if rest.isEmpty { return 0 }
        guard rest.first == UInt8(ascii: "."), rest.count > 1,
              rest.dropFirst().allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return rest.count - 1
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
