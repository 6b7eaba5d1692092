import Foundation

/// Compiles a set of schema documents that may refer to each other with `$ref`
/// (`other.v1.schema.json#/$defs/money`, or `#/$defs/x` within one document).
///
/// References are resolved against each document's `$id`, as JSON Schema specifies, so
/// the files can live anywhere as long as their `$id`s agree.
public struct SchemaCompiler {
    public static let draft = "https://json-schema.org/draft/2020-12/schema"

    private var documents: [String: JSONValue] = [:]
    private var compiled: [String: SchemaNode] = [:]
    private var pendingReferences: [(node: SchemaNode, target: String, document: String, location: JSONPointer)] = []

    public init() {}

    /// Adds a document; its `$id` (an absolute URI) is how others refer to it.
    @discardableResult
    public mutating func add(_ document: JSONValue, name: String) throws(SchemaCompilationError) -> String {
        guard case let .object(object) = document else {
            throw SchemaCompilationError(schema: name, location: JSONPointer(), reason: "a schema document must be an object")
        }
        guard let id = object["$id"]?.stringValue, let url = URL(string: id), url.scheme != nil else {
            throw SchemaCompilationError(schema: name, location: JSONPointer(), reason: "needs an absolute \"$id\"")
        }
        if let dialect = object["$schema"], dialect != .string(Self.draft) {
            throw SchemaCompilationError(schema: name, location: JSONPointer(["$schema"]),
                                         reason: "only draft 2020-12 (\(Self.draft)) is supported")
        }
        guard documents[id] == nil else {
            throw SchemaCompilationError(schema: name, location: JSONPointer(["$id"]), reason: "\(id) is defined twice")
        }
        documents[id] = document
        return id
    }

    /// Compiles every added document and links their references.
    public mutating func compileAll() throws(SchemaCompilationError) -> [String: JSONSchema] {
        var result: [String: JSONSchema] = [:]
        for (id, document) in documents.sorted(by: { $0.key < $1.key }) {
            result[id] = JSONSchema(id: id, node: try compile(document, document: id, at: JSONPointer()))
        }
        while let pending = pendingReferences.popLast() {
            pending.node.reference = try resolve(pending.target, from: pending.document, location: pending.location)
        }
        return result
    }

    private mutating func resolve(_ reference: String, from document: String, location: JSONPointer) throws(SchemaCompilationError) -> SchemaNode {
        func failure(_ reason: String) -> SchemaCompilationError {
            SchemaCompilationError(schema: document, location: location, reason: reason)
        }
        guard let base = URL(string: document), let absolute = URL(string: reference, relativeTo: base)?.absoluteURL else {
            throw failure("cannot resolve $ref \"\(reference)\"")
        }
        var components = URLComponents(url: absolute, resolvingAgainstBaseURL: false)
        let fragment = components?.percentEncodedFragment?.removingPercentEncoding ?? ""
        components?.fragment = nil
        guard let target = components?.string, let targetDocument = documents[target] else {
            throw failure("$ref \"\(reference)\" names no known schema")
        }
        guard let pointer = JSONPointer(parsing: Substring(fragment)), let schema = pointer.resolve(in: targetDocument) else {
            throw failure("$ref \"\(reference)\" points at nothing (only JSON-pointer fragments are supported)")
        }
        return try compile(schema, document: target, at: pointer)
    }

    private mutating func compile(_ schema: JSONValue, document: String, at location: JSONPointer) throws(SchemaCompilationError) -> SchemaNode {
        let key = "\(document)#\(location)"
        if let existing = compiled[key] { return existing }
        let node = SchemaNode()
        compiled[key] = node
        func failure(_ reason: String, _ keyword: String? = nil) -> SchemaCompilationError {
            SchemaCompilationError(schema: document, location: keyword.map { location.appending($0) } ?? location, reason: reason)
        }
        switch schema {
        case let .bool(value):
            node.alwaysValid = value
            return node
        case let .object(object):
            for keyword in object.keys where !JSONSchema.supportedKeywords.contains(keyword) {
                throw failure("keyword \"\(keyword)\" is not supported by billsync's validator "
                    + "(supported: \(JSONSchema.supportedKeywords.sorted().joined(separator: ", ")))", keyword)
            }
            try compileKeywords(object, into: node, document: document, location: location, failure: failure)
            return node
        default:
            throw failure("a schema must be an object or a boolean")
        }
    }

    private mutating func compileKeywords(
        _ object: JSONObject,
        into node: SchemaNode,
        document: String,
        location: JSONPointer,
        failure: (String, String?) -> SchemaCompilationError
    ) throws(SchemaCompilationError) {
        func integer(_ keyword: String) throws(SchemaCompilationError) -> Int? {
            guard let value = object[keyword] else { return nil }
            guard case let .number(number) = value, number.isInteger, number.decimal >= 0 else {
                throw failure("must be a non-negative integer", keyword)
            }
            return NSDecimalNumber(decimal: number.decimal).intValue
        }
        func decimal(_ keyword: String) throws(SchemaCompilationError) -> Decimal? {
            guard let value = object[keyword] else { return nil }
            guard case let .number(number) = value else { throw failure("must be a number", keyword) }
            return number.decimal
        }
        func subschemas(_ keyword: String) throws(SchemaCompilationError) -> [SchemaNode] {
            guard let value = object[keyword] else { return [] }
            guard case let .array(array) = value, !array.isEmpty else { throw failure("must be a non-empty array", keyword) }
            var nodes: [SchemaNode] = []
            for (index, element) in array.enumerated() {
                nodes.append(try compile(element, document: document, at: location.appending(keyword).appending(index)))
            }
            return nodes
        }

        if let reference = object["$ref"] {
            guard case let .string(target) = reference else { throw failure("must be a string", "$ref") }
            pendingReferences.append((node, target, document, location.appending("$ref")))
        }
        if let defs = object["$defs"] {
            guard case let .object(definitions) = defs else { throw failure("must be an object", "$defs") }
            // Compiled eagerly so a broken definition fails at startup even if nothing uses it yet.
            for name in definitions.keys {
                _ = try compile(definitions[name]!, document: document, at: location.appending("$defs").appending(name))
            }
        }
        if let type = object["type"] {
            let known: Set<String> = ["null", "boolean", "object", "array", "number", "integer", "string"]
            let names: [String]
            switch type {
            case let .string(name): names = [name]
            case let .array(array): names = array.compactMap(\.stringValue)
            default: names = []
            }
            guard !names.isEmpty, names.allSatisfy(known.contains) else { throw failure("must name JSON types", "type") }
            node.types = Set(names)
        }
        if let values = object["enum"] {
            guard case let .array(array) = values, !array.isEmpty else { throw failure("must be a non-empty array", "enum") }
            node.enumValues = array
        }
        node.constValue = object["const"]
        if let properties = object["properties"] {
            guard case let .object(members) = properties else { throw failure("must be an object", "properties") }
            // In name order, the order billsync writes members in: validation walks both together.
            for name in members.keys.sorted() {
                node.properties.append((name, try self.compile(members[name]!, document: document,
                                                            at: location.appending("properties").appending(name))))
            }
        }
        if let required = object["required"] {
            guard case let .array(array) = required, array.allSatisfy({ $0.stringValue != nil }) else {
                throw failure("must be an array of names", "required")
            }
            node.required = array.compactMap(\.stringValue)
        }
        if let additional = object["additionalProperties"] {
            node.additionalProperties = try self.compile(additional, document: document, at: location.appending("additionalProperties"))
        }
        if let items = object["items"] {
            node.items = try self.compile(items, document: document, at: location.appending("items"))
        }
        node.minItems = try integer("minItems")
        node.maxItems = try integer("maxItems")
        node.minLength = try integer("minLength")
        node.maxLength = try integer("maxLength")
        if let pattern = object["pattern"] {
            guard case let .string(source) = pattern, let compiled = try? SchemaPattern(source) else {
                throw failure("must be a valid regular expression", "pattern")
            }
            node.pattern = compiled
        }
        if let format = object["format"] {
            guard case let .string(name) = format, JSONSchema.supportedFormats.contains(name), let kind = Formats.Kind(rawValue: name) else {
                throw failure("format must be one of \(JSONSchema.supportedFormats.sorted().joined(separator: ", "))", "format")
            }
            node.format = kind
        }
        node.minimum = try decimal("minimum")
        node.maximum = try decimal("maximum")
        node.exclusiveMinimum = try decimal("exclusiveMinimum")
        node.exclusiveMaximum = try decimal("exclusiveMaximum")
        node.allOf = try subschemas("allOf")
        node.anyOf = try subschemas("anyOf")
        node.oneOf = try subschemas("oneOf")
        if let not = object["not"] {
            node.not = try self.compile(not, document: document, at: location.appending("not"))
        }
    }
}
