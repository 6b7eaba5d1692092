import Foundation
import Yams

/// A configuration problem, naming the key and what is wrong with it.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let key: String
    public let reason: String

    public init(key: String, reason: String) {
        self.key = key
        self.reason = reason
    }

    public var description: String { "configuration key '\(key)': \(reason)" }
}

/// Settings as dotted keys (`kafka.brokers`, `retry.tiers`), read from a YAML file and then
/// overridden by the environment (the environment wins).
///
/// Environment names are the key in upper case with dots as underscores and a `BILLSYNC_`
/// prefix (`BILLSYNC_HTTP_PORT`); `KAFKA_BROKERS` works too. Any librdkafka property can be
/// given as `BILLSYNC_KAFKA_PROPERTY_<NAME>` (`..._SASL_PASSWORD` → `sasl.password`), and a
/// secret can come from a file: `BILLSYNC_KAFKA_PROPERTY_SASL_PASSWORD_FILE=/run/secrets/kafka`.
public struct ConfigurationValues: Sendable {
    /// Scalars and lists by dotted key.
    public private(set) var values: [String: [String]] = [:]
    /// librdkafka properties passed through unchanged.
    public private(set) var kafkaProperties: [String: String] = [:]
    /// Where each value came from, for `--print-config`.
    public private(set) var origins: [String: String] = [:]

    public init() {}

    public subscript(key: String) -> [String]? { values[key] }

    /// Reads a YAML document. Every key must be one of `knownKeys` (or under `kafka.properties`).
    public mutating func merge(yaml text: String, file: String, knownKeys: Set<String>) throws {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError(key: file, reason: "not valid YAML: \(error)")
        }
        guard let node else { return }
        guard case .mapping = node else { throw ConfigurationError(key: file, reason: "the top level must be a mapping") }
        try walk(node, prefix: "", file: file, knownKeys: knownKeys)
    }

    private mutating func walk(_ node: Node, prefix: String, file: String, knownKeys: Set<String>) throws {
        switch node {
        case let .mapping(mapping):
            for (keyNode, valueNode) in mapping {
                guard let name = keyNode.string else { throw ConfigurationError(key: prefix, reason: "keys must be text") }
                let key = prefix.isEmpty ? name : "\(prefix).\(name)"
                if key == "kafka.properties" {
                    guard case let .mapping(properties) = valueNode else {
                        throw ConfigurationError(key: key, reason: "must be a mapping of librdkafka property names to values")
                    }
                    for (property, value) in properties {
                        guard let name = property.string, let value = value.string else {
                            throw ConfigurationError(key: key, reason: "property names and values must be scalars")
                        }
                        kafkaProperties[name] = value
                        origins["kafka.properties.\(name)"] = "\(file):\((property.mark?.line).map(String.init) ?? "?")"
                    }
                } else if case .mapping = valueNode, !knownKeys.contains(key) {
                    try walk(valueNode, prefix: key, file: file, knownKeys: knownKeys)
                } else {
                    guard knownKeys.contains(key) else {
                        let line = (keyNode.mark?.line).map { " (line \($0))" } ?? ""
                        throw ConfigurationError(key: key, reason: "unknown key in \(file)\(line)\(Self.suggestion(for: key, among: knownKeys))")
                    }
                    values[key] = try Self.scalars(valueNode, key: key)
                    origins[key] = "\(file):\((keyNode.mark?.line).map(String.init) ?? "?")"
                }
            }
        default:
            throw ConfigurationError(key: prefix, reason: "expected a mapping")
        }
    }

    private static func scalars(_ node: Node, key: String) throws -> [String] {
        switch node {
        case let .scalar(scalar): return [scalar.string]
        case let .sequence(sequence):
            return try sequence.map { element in
                guard let text = element.string else { throw ConfigurationError(key: key, reason: "list items must be scalars") }
                return text
            }
        default:
            throw ConfigurationError(key: key, reason: "must be a value or a list")
        }
    }

    /// Applies environment overrides; lists are comma separated.
    public mutating func merge(environment: [String: String], knownKeys: Set<String>) throws {
        for key in knownKeys {
            let name = Self.environmentName(for: key)
            if let value = environment[name] {
                values[key] = value.contains(",") ? value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } : [value]
                origins[key] = "$\(name)"
            }
        }
        if let brokers = environment["KAFKA_BROKERS"], environment[Self.environmentName(for: "kafka.brokers")] == nil {
            values["kafka.brokers"] = brokers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            origins["kafka.brokers"] = "$KAFKA_BROKERS"
        }
        let prefix = "BILLSYNC_KAFKA_PROPERTY_"
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix(prefix) {
            var property = String(name.dropFirst(prefix.count))
            var resolved = value
            if property.hasSuffix("_FILE") {
                property = String(property.dropLast(5))
                do {
                    resolved = try String(contentsOfFile: value, encoding: .utf8).trimmingCharacters(in: .newlines)
                } catch {
                    throw ConfigurationError(key: "kafka.properties.\(Self.propertyName(property))", reason: "cannot read the file named by $\(name)")
                }
            }
            kafkaProperties[Self.propertyName(property)] = resolved
            origins["kafka.properties.\(Self.propertyName(property))"] = "$\(name)"
        }
    }

    public static func environmentName(for key: String) -> String {
        "BILLSYNC_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    static func propertyName(_ environmentSuffix: String) -> String {
        environmentSuffix.lowercased().replacingOccurrences(of: "_", with: ".")
    }

    static func suggestion(for key: String, among known: Set<String>) -> String {
        let leaf = key.split(separator: ".").last.map(String.init) ?? key
        let close = known.filter { $0.lowercased().contains(leaf.lowercased()) || leaf.lowercased().contains(($0.split(separator: ".").last ?? "").lowercased()) }
        return close.isEmpty ? "" : " (did you mean \(close.sorted().joined(separator: " or "))?)"
    }
}
