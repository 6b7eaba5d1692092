import Foundation

/// One way a document breaks its schema: where (a JSON pointer into the document), which rule.
public struct SchemaViolation: Error, Sendable, Hashable, CustomStringConvertible {
    public let pointer: JSONPointer
    public let keyword: String
    public let message: String

    public init(pointer: JSONPointer, keyword: String, message: String) {
        self.pointer = pointer
        self.keyword = keyword
        self.message = message
    }

    public var description: String {
        "\(pointer.tokens.isEmpty ? "/" : pointer.description): \(message) [\(keyword)]"
    }
}

/// A schema file billsync cannot use: malformed, or using a keyword the validator does not
/// implement. Raised at startup, never while messages flow.
public struct SchemaCompilationError: Error, Sendable, CustomStringConvertible {
    public let schema: String
    public let location: JSONPointer
    public let reason: String

    public init(schema: String, location: JSONPointer, reason: String) {
        self.schema = schema
        self.location = location
        self.reason = reason
    }

    public var description: String { "schema \(schema) at #\(location): \(reason)" }
}

/// A compiled JSON Schema (draft 2020-12), for the subset of keywords billsync's contracts use.
///
/// Compiled once; validating never parses the schema again. A keyword outside
/// `supportedKeywords` is a compilation error rather than being silently ignored, so a schema
/// can never promise a check that does not run.
public final class JSONSchema: Sendable {
    /// Keywords that are checked.
    public static let assertionKeywords: Set<String> = [
        "$ref", "type", "enum", "const", "properties", "required", "additionalProperties", "items",
        "minItems", "maxItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "allOf", "anyOf", "oneOf", "not",
    ]
    /// Keywords that only structure or annotate.
    public static let annotationKeywords: Set<String> = [
        "$schema", "$id", "$defs", "$comment", "title", "description", "examples", "default", "deprecated",
    ]
    public static var supportedKeywords: Set<String> { assertionKeywords.union(annotationKeywords) }
    /// `format` values that are asserted (an unknown format is a compilation error).
    public static let supportedFormats: Set<String> = ["date", "date-time", "uuid"]

    let node: SchemaNode
    public let id: String

    init(id: String, node: SchemaNode) {
        self.id = id
        self.node = node
    }

    /// Every violation, ordered by location; empty when the document is valid.
    public func validate(_ document: JSONValue) -> [SchemaViolation] {
        var violations: [SchemaViolation] = []
        var path: [String] = []
        path.reserveCapacity(8)
        node.validate(document, path: &path, into: &violations)
        return violations.sorted { ($0.pointer, $0.keyword) < ($1.pointer, $1.keyword) }
    }
}

/// One compiled (sub)schema. Immutable once its `$ref` links are set at the end of compilation.
final class SchemaNode: @unchecked Sendable {
    var alwaysValid: Bool?
    var types: Set<String>? {
        didSet { typeMask = types.map(JSONTypeMask.init(names:)) }
    }
    /// `types` as bits, so the check on every value hashes no strings.
    private(set) var typeMask: JSONTypeMask?
    var enumValues: [JSONValue]?
    var constValue: JSONValue?
    var properties: [(String, SchemaNode)] = [] {
        didSet { indexRequired() }
    }
    var required: [String] = [] {
        didSet { indexRequired() }
    }
    /// `required` split by whether `properties` declares the name: a declared one is checked
    /// off during the walk over the members (by its position), the others looked up.
    private(set) var requiredDeclared: [Int] = []
    private(set) var requiredUndeclared: [String] = []
    var additionalProperties: SchemaNode?
    var items: SchemaNode?
    var minItems: Int?
    var maxItems: Int?
    var minLength: Int?
    var maxLength: Int?
    var pattern: SchemaPattern?
    var format: Formats.Kind?
    var minimum: Decimal?
    var maximum: Decimal?
    var exclusiveMinimum: Decimal?
    var exclusiveMaximum: Decimal?
    var allOf: [SchemaNode] = []
    var anyOf: [SchemaNode] = []
    var oneOf: [SchemaNode] = []
    var not: SchemaNode?
    var reference: SchemaNode?

    private func indexRequired() {
        requiredDeclared = []
        requiredUndeclared = []
        for name in required {
            if let position = properties.firstIndex(where: { $0.0 == name }) {
                requiredDeclared.append(position)
            } else {
                requiredUndeclared.append(name)
            }
        }
    }

    func isValid(_ value: JSONValue) -> Bool {
        var violations: [SchemaViolation] = []
        var path: [String] = []
        validate(value, path: &path, into: &violations)
        return violations.isEmpty
    }

    /// `path` is where `value` is (the pointer's tokens), kept as a stack so that a valid
    /// document builds no pointers at all.
    func validate(_ value: JSONValue, path: inout [String], into violations: inout [SchemaViolation]) {
        func fail(_ keyword: String, _ message: String) {
            violations.append(SchemaViolation(pointer: JSONPointer(path), keyword: keyword, message: message))
        }
        if let alwaysValid {
            if !alwaysValid { fail("false", "no value is allowed here") }
            return
        }
        reference?.validate(value, path: &path, into: &violations)
        // Checked before anything is bound: binding an optional array or string costs a retain
        // and a release, on every node of every message.
        if let typeMask, !typeMask.admits(value) {
            fail("type", "expected \((types ?? []).sorted().joined(separator: " or ")), found \(Self.typeName(of: value))")
            return
        }
        if let enumValues, !enumValues.contains(value) {
            fail("enum", "\(Self.preview(value)) is not one of \(enumValues.map(Self.preview).joined(separator: ", "))")
        }
        if let constValue, constValue != value {
            fail("const", "must be \(Self.preview(constValue))")
        }
        switch value {
        case let .object(object):
            // One pass over the members: each is checked by its declared schema, or else by
            // additionalProperties. Declared names are few, so they are compared, not hashed,
            // starting after the last one found: members written in name order (billsync's own,
            // `properties` is sorted) then cost one comparison each. Required names declared
            // here are checked off by position on the way.
            let properties = self.properties
            var seen = PositionSet()
            var next = 0
            for index in object.keys.indices {
                let key = object.keys[index]
                var position: Int?
                if next < properties.count, properties[next].0.isSameName(key) {
                    position = next
                } else {
                    position = properties.firstIndex { $0.0.isSameName(key) }
                }
                if let position {
                    next = position + 1
                    seen.insert(position)
                }
                guard let schema = position.map({ properties[$0].1 }) ?? additionalProperties else { continue }
                path.append(key)
                if position == nil, schema.alwaysValid == false {
                    violations.append(SchemaViolation(pointer: JSONPointer(path), keyword: "additionalProperties", message: "unknown field"))
                } else {
                    schema.validate(object.values[index], path: &path, into: &violations)
                }
                path.removeLast()
            }
            for position in requiredDeclared where !seen.contains(position) {
                violations.append(SchemaViolation(pointer: JSONPointer(path + [properties[position].0]), keyword: "required",
                                                  message: "required field is missing"))
            }
            for name in requiredUndeclared where object[name] == nil {
                violations.append(SchemaViolation(pointer: JSONPointer(path + [name]), keyword: "required",
                                                  message: "required field is missing"))
            }
        case let .array(array):
            if let minItems, array.count < minItems { fail("minItems", "needs at least \(minItems) items, has \(array.count)") }
            if let maxItems, array.count > maxItems { fail("maxItems", "allows at most \(maxItems) items, has \(array.count)") }
            if let items {
                for (index, element) in array.enumerated() {
                    path.append(String(index))
                    items.validate(element, path: &path, into: &violations)
                    path.removeLast()
                }
            }
        case let .string(string):
            // Lengths count Unicode code points, as JSON Schema specifies (not grapheme clusters).
            // A string has no more code points than UTF-8 bytes and no fewer than a quarter of
            // them, so most strings are decided without counting.
            let bytes = string.utf8.count
            if let minLength, bytes < minLength * 4, string.unicodeScalars.count < minLength {
                fail("minLength", "must be at least \(minLength) characters, is \(string.unicodeScalars.count)")
            }
            if let maxLength, bytes > maxLength, string.unicodeScalars.count > maxLength {
                fail("maxLength", "must be at most \(maxLength) characters, is \(string.unicodeScalars.count)")
            }
            if let pattern {
                if !pattern.matches(string) {
                    fail("pattern", "\(Self.preview(value)) does not match \(pattern.source)")
                }
            }
            if let format, !Formats.check(format, string) {
                fail("format", "\(Self.preview(value)) is not a valid \(format.rawValue)")
            }
        case let .number(number):
            let decimal = number.decimal
            if let minimum, decimal < minimum { fail("minimum", "must be at least \(minimum)") }
            if let maximum, decimal > maximum { fail("maximum", "must be at most \(maximum)") }
            if let exclusiveMinimum, decimal <= exclusiveMinimum { fail("exclusiveMinimum", "must be more than \(exclusiveMinimum)") }
            if let exclusiveMaximum, decimal >= exclusiveMaximum { fail("exclusiveMaximum", "must be less than \(exclusiveMaximum)") }
        default:
            break
        }
        if !allOf.isEmpty {
            for schema in allOf { schema.validate(value, path: &path, into: &violations) }
        }
        if !anyOf.isEmpty, !anyOf.contains(where: { $0.isValid(value) }) {
            fail("anyOf", "matches none of the allowed shapes")
        }
        if !oneOf.isEmpty {
            let matches = oneOf.filter { $0.isValid(value) }.count
            if matches != 1 { fail("oneOf", matches == 0 ? "matches none of the allowed shapes" : "matches \(matches) shapes, exactly one is allowed") }
        }
        if let not, not.isValid(value) { fail("not", "matches a shape that is not allowed") }
    }

    static func typeName(of value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case let .number(number): number.isInteger ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// A short rendering of a value for an error message; long strings are cut.
    static func preview(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case let .bool(bool): return String(bool)
        case let .number(number): return number.text
        case let .string(string):
            let cut = string.unicodeScalars.count > 40 ? String(String.UnicodeScalarView(string.unicodeScalars.prefix(40))) + "…" : string
            return "\"\(cut)\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// The JSON Schema type names as bits.
/// Positions among at most a few dozen declared properties: bits, with no allocation up to 64.
struct PositionSet {
    private var low: UInt64 = 0
    private var high: Set<Int> = []

    mutating func insert(_ position: Int) {
        if position < 64 { low |= 1 << UInt64(position) } else { high.insert(position) }
    }

    func contains(_ position: Int) -> Bool {
        position < 64 ? low & (1 << UInt64(position)) != 0 : high.contains(position)
    }
}

struct JSONTypeMask: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = JSONTypeMask(rawValue: 1)
    static let boolean = JSONTypeMask(rawValue: 2)
    static let number = JSONTypeMask(rawValue: 4)
    static let integer = JSONTypeMask(rawValue: 8)
    static let string = JSONTypeMask(rawValue: 16)
    static let array = JSONTypeMask(rawValue: 32)
    static let object = JSONTypeMask(rawValue: 64)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(names: Set<String>) {
        let table: [String: JSONTypeMask] = ["null": .null, "boolean": .boolean, "number": .number, "integer": .integer,
                                             "string": .string, "array": .array, "object": .object]
        self = names.reduce(into: []) { $0.formUnion(table[$1] ?? []) }
    }

    /// Whether a value has one of these types; only a number against `integer` costs more than a switch.
    func admits(_ value: JSONValue) -> Bool {
        switch value {
        case .null: contains(.null)
        case .bool: contains(.boolean)
        case .string: contains(.string)
        case .array: contains(.array)
        case .object: contains(.object)
        case let .number(number): contains(.number) || (contains(.integer) && number.isInteger)
        }
    }
}
