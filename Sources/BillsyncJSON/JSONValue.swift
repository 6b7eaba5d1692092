import Foundation

/// A parsed JSON document that keeps what generic decoders lose: a number's exact text (money
/// must never pass through a binary floating point value) and the difference between `1` and
/// `true`, both of which JSON Schema validation depends on.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The JSON Schema type name of this value (`integer` for integral numbers).
    public var schemaTypes: Set<String> {
        switch self {
        case .null: ["null"]
        case .bool: ["boolean"]
        case let .number(number): number.isInteger ? ["number", "integer"] : ["number"]
        case .string: ["string"]
        case .array: ["array"]
        case .object: ["object"]
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case let .object(object) = self { return object[key] }
        return nil
    }

    public var stringValue: String? {
        if case let .string(value) = self { return value }
        return nil
    }
}

/// A JSON number as written, compared and range-checked as a `Decimal`.
public struct JSONNumber: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public let decimal: Decimal
    /// Made once: every number of every message is read with it.
    private static let posix = Locale(identifier: "en_US_POSIX")

    public init?(text: String) {
        guard let decimal = Decimal(string: text, locale: Self.posix) else { return nil }
        self.text = text
        self.decimal = decimal
    }

    public init(_ decimal: Decimal) {
        self.decimal = decimal
        self.text = "\(decimal)"
    }

    /// JSON Schema counts `1.0` and `1e2` as integers, like `1`.
    public var isInteger: Bool {
        var value = decimal
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 0, .plain)
        return rounded == decimal
    }

    public var description: String { text }

    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool { lhs.decimal == rhs.decimal }
}

/// A JSON object. A repeated key keeps its last value, as most JSON readers do.
public struct JSONObject: Sendable, Equatable {
    public private(set) var keys: [String] = []
    public private(set) var values: [String: JSONValue] = [:]

    public init() {}

    public init(_ pairs: KeyValuePairs<String, JSONValue>) {
        for (key, value) in pairs { self[key] = value }
    }

    public subscript(key: String) -> JSONValue? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public var count: Int { keys.count }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool { lhs.values == rhs.values }
}
