import BillsyncJSON

/// A dotted path into a canonical record's payload (`primaryAddress.postcode`), split once when
/// the mapping loads rather than for every field of every record.
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
}
