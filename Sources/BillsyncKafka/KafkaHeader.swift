/// A Kafka record header. A header may carry no value at all, which is not the same as an empty one.
public struct KafkaHeader: Hashable, Sendable {
    public let name: String
    public let value: [UInt8]?

    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }

    public init(name: String, string: String) {
        self.init(name: name, value: Array(string.utf8))
    }

    /// The value as UTF-8 text, or nil when there is none or it is not valid UTF-8.
    public var stringValue: String? {
        value.flatMap { String(validating: $0, as: UTF8.self) }
    }
}

extension Array where Element == KafkaHeader {
    /// The value of the last header with this name, as text: Kafka allows repeated names, and
    /// the latest one is the one that was meant (e.g. an attempt count updated on each retry).
    public func last(named name: String) -> String? {
        last(where: { $0.name == name })?.stringValue
    }
}
