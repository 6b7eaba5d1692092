/// A dotted path into a canonical record's payload (`primaryAddress.postcode`), split once when
/// a mapping loads rather than for every field of every record: the extractor writes records
/// by these paths, the transformer reads them.
public struct PayloadPath: Sendable, Equatable, CustomStringConvertible {
    public let description: String
    /// Nil for a top-level field, found by its whole name.
    private let components: [String]?

    public init(_ text: String) {
        description = text
        let parts = text.split(separator: ".").map(String.init)
        components = parts.count > 1 ? parts : nil
    }

    /// The value at the path in `object` (the payload, taken out of its `JSONValue` once per
    /// record rather than once per field).
    public func value(in object: JSONObject) -> JSONValue? {
        guard let components else { return object[description] }
        var current = object[components[0]]
        for part in components.dropFirst() { current = current?[part] }
        return current
    }

    /// Sets the value at the path in `object`, making the objects on the way.
    public func set(_ value: JSONValue, in object: inout JSONObject) {
        guard let components else {
            object[description] = value
            return
        }
        Self.set(value, at: components[...], in: &object)
    }

    private static func set(_ value: JSONValue, at path: ArraySlice<String>, in object: inout JSONObject) {
        guard let first = path.first else { return }
        if path.count == 1 {
            object[first] = value
            return
        }
        var child: JSONObject
        if case let .object(existing)? = object[first] { child = existing } else { child = JSONObject() }
        set(value, at: path.dropFirst(), in: &child)
        object[first] = .object(child)
    }
}
