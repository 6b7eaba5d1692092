import Foundation

/// Lets a `JSONValue` sit inside Codable types. Numbers keep their exact text when encoded; when
/// decoded through a `Decoder` they come as `Decimal` (the decoder has already read the text).
extension JSONValue: Codable {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: Key.self) {
            var object = JSONObject()
            for key in keyed.allKeys { object[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key) }
            self = .object(object)
            return
        }
        if var unkeyed = try? decoder.unkeyedContainer() {
            var array: [JSONValue] = []
            while !unkeyed.isAtEnd { array.append(try unkeyed.decode(JSONValue.self)) }
            self = .array(array)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let bool = try? single.decode(Bool.self) {
            self = .bool(bool)
        } else if let text = try? single.decode(String.self) {
            self = .string(text)
        } else {
            self = .number(JSONNumber(try single.decode(Decimal.self)))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case let .bool(value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case let .string(value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case let .number(number):
            var single = encoder.singleValueContainer()
            try single.encode(number.decimal)
        case let .array(values):
            var unkeyed = encoder.unkeyedContainer()
            for value in values { try unkeyed.encode(value) }
        case let .object(object):
            var keyed = encoder.container(keyedBy: Key.self)
            for key in object.keys { try keyed.encode(object[key]!, forKey: Key(stringValue: key)) }
        }
    }
}

extension JSONValue: Hashable {
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case let .bool(value): hasher.combine(value)
        case let .string(value): hasher.combine(value)
        case let .number(number): hasher.combine(number.decimal)
        case let .array(values): hasher.combine(values)
        case let .object(object):
            // Order-free, as == is: the members' own hashes summed.
            var sum = 0
            for (key, value) in object.members {
                var memberHasher = Hasher()
                memberHasher.combine(key)
                memberHasher.combine(value)
                sum &+= memberHasher.finalize()
            }
            hasher.combine(object.count)
            hasher.combine(sum)
        }
    }
}
