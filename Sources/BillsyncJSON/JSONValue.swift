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
        if let decimal = Self.plainDecimal(text) {
            self.text = text
            self.decimal = decimal
            return
        }
        guard let decimal = Decimal(string: text, locale: Self.posix) else { return nil }
        self.text = text
        self.decimal = decimal
    }

    /// The value of a plain number (`-12`, `1234.50`: no exponent, at most 18 digits) without
    /// Foundation's general reader, which costs more than the rest of reading a message.
    static func plainDecimal(_ text: String) -> Decimal? {
        var significand: UInt64 = 0
        var digits = 0
        var fraction = 0
        var negative = false
        var seenPoint = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "-") where digits == 0 && !negative && !seenPoint: negative = true
            case UInt8(ascii: "."):
                guard !seenPoint, digits > 0 else { return nil }
                seenPoint = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard digits < 18 else { return nil }
                significand = significand * 10 + UInt64(byte - UInt8(ascii: "0"))
                digits += 1
                if seenPoint { fraction += 1 }
            default: return nil
            }
        }
        guard digits > 0 else { return nil }
        return Decimal(sign: negative ? .minus : .plus, exponent: -fraction, significand: Decimal(significand))
    }

    public init(_ decimal: Decimal) {
        self.decimal = decimal
        self.text = "\(decimal)"
    }

    /// JSON Schema counts `1.0` and `1e2` as integers, like `1`.
    public var isInteger: Bool {
        if !text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) { return true }
        var value = decimal
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 0, .plain)
        return rounded == decimal
    }

    public var description: String { text }

    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool { lhs.decimal == rhs.decimal }
}

/// A JSON object. A repeated key keeps its last value, as most JSON readers do.
///
/// Members are kept in order, their names and values in two arrays, and found by comparing
/// names: a message's objects have a handful to a few dozen members, for which that is cheaper
/// than hashing every key on every lookup (and building a hash table per object), and a search
/// then reads only names, never copying a value. An object that grows past `indexedFromCount`
/// members gets an index by key, so a huge one stays linear to read.
public struct JSONObject: Sendable, Equatable {
    /// The member names in their order.
    public private(set) var keys: [String] = []
    /// The member values, in the names' order.
    public private(set) var values: [JSONValue] = []
    private var index: [String: Int]?
    static let indexedFromCount = 32

    public init() {}

    public init(_ pairs: KeyValuePairs<String, JSONValue>) {
        keys.reserveCapacity(pairs.count)
        values.reserveCapacity(pairs.count)
        for (key, value) in pairs { self[key] = value }
    }

    /// Members whose keys are known to differ (written by code, or read in increasing order):
    /// kept as they are, without looking each key up among those before it.
    public init(uniqueKeys keys: [String], values: [JSONValue]) {
        assert(keys.count == values.count && Set(keys).count == keys.count, "repeated or unmatched keys")
        self.keys = keys
        self.values = values
        if keys.count > Self.indexedFromCount { reindex() }
    }

    /// The members in order, as (name, value) pairs.
    public var members: Zip2Sequence<[String], [JSONValue]> { zip(keys, values) }

    /// The members by name.
    public var dictionary: [String: JSONValue] {
        Dictionary(zip(keys, values), uniquingKeysWith: { _, last in last })
    }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        return keys.withUnsafeBufferPointer { names in
            for position in names.indices where names[position].isSameName(key) { return position }
            return nil
        }
    }

    private mutating func reindex() {
        index = Dictionary(keys.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { _, last in last })
    }

    public subscript(key: String) -> JSONValue? {
        get { position(of: key).map { values[$0] } }
        set {
            if let newValue {
                if let position = position(of: key) {
                    values[position] = newValue
                } else {
                    keys.append(key)
                    values.append(newValue)
                    if index != nil {
                        index![key] = keys.count - 1
                    } else if keys.count > Self.indexedFromCount {
                        reindex()
                    }
                }
            } else if let position = position(of: key) {
                keys.remove(at: position)
                values.remove(at: position)
                if index != nil { reindex() }
            }
        }
    }

    public var count: Int { keys.count }

    /// Equal when they have the same members, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.members.allSatisfy { rhs[$0.0] == $0.1 }
    }
}

extension String {
    /// Equality for member names, which mostly differ in length: that is compared first, from
    /// the string's own header, before the standard library's general comparison.
    @inline(__always)
    func isSameName(_ other: String) -> Bool {
        utf8.count == other.utf8.count && self == other
    }
}
