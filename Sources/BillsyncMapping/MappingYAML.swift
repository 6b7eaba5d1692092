import Foundation
import Yams

/// A mapping file that cannot be used, with the line of the problem.
public struct MappingError: Error, Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let message: String
    /// Which file (`mapping file`, `source mapping file`), for the message.
    public let file: String

    public init(line: Int, message: String, file: String = "mapping file") {
        self.line = line
        self.message = message
        self.file = file
    }

    public var description: String { "\(file) line \(line): \(message)" }
}

/// Reading the mapping files' YAML with a line number for every complaint: the helpers both
/// mapping files (the transformer's and the sources') are parsed with.
public enum MappingYAML {
    /// The document's root node; a YAML error keeps its line.
    public static func root(_ yaml: String, file: String) throws(MappingError) -> Node {
        do {
            guard let node = try Yams.compose(yaml: yaml) else { throw MappingError(line: 1, message: "the file is empty", file: file) }
            return node
        } catch let error as MappingError {
            throw error
        } catch {
            throw MappingError(line: (error as? YamlError).flatMap(line(of:)) ?? 1, message: "not valid YAML: \(error)", file: file)
        }
    }

    public static func mapping(_ node: Node, _ what: String, file: String = "mapping file") throws(MappingError) -> Node.Mapping {
        guard case let .mapping(mapping) = node else { throw MappingError(line: line(node), message: "\(what) must be a mapping", file: file) }
        return mapping
    }

    public static func allow(_ mapping: Node.Mapping, _ keys: Set<String>, in what: String, file: String = "mapping file") throws(MappingError) {
        for (key, _) in mapping {
            guard let name = key.string, keys.contains(name) else {
                throw MappingError(line: line(key), message: "unknown key '\(key.string ?? "?")' in \(what) (expected \(keys.sorted().joined(separator: ", ")))",
                                   file: file)
            }
        }
    }

    /// A scalar or a list of scalars, as a list.
    public static func strings(_ node: Node?) -> [String] {
        switch node {
        case let .scalar(scalar)?: [scalar.string]
        case let .sequence(list)?: list.compactMap(\.string)
        default: []
        }
    }

    public static func line(_ node: Node) -> Int { node.mark?.line ?? 1 }

    static func line(of error: YamlError) -> Int? {
        if case let .scanner(_, _, mark, _) = error { return mark.line }
        if case let .parser(_, _, mark, _) = error { return mark.line }
        return nil
    }
}

extension MappingRule {
    /// What a rule may refer to: the lookup tables declared in its file, and the time zone
    /// timestamps are read in unless a rule names its own.
    public struct Context: Sendable {
        public var lookups: Set<String>
        public var timeZone: String
        public var file: String

        public init(lookups: Set<String> = [], timeZone: String = "UTC", file: String = "mapping file") {
            self.lookups = lookups
            self.timeZone = timeZone
            self.file = file
        }
    }

    /// Reads a rule as the mapping files write it: a name (`trim`) or `{ name: parameters }`.
    public init(node: Node, context: Context) throws(MappingError) {
        let line = MappingYAML.line(node)
        func fail(_ message: String) -> MappingError { MappingError(line: line, message: message, file: context.file) }
        if let name = node.string {
            switch name {
            case "trim": self = .trim
            case "upper": self = .upper
            case "lower": self = .lower
            case "required": self = .required
            case "nmi-checksum": self = .nmiChecksum
            case "email": self = .email
            case "date": self = .date(formats: ["yyyy-MM-dd"])
            case "money": self = .money(scale: 2, rounding: .halfEven)
            case "number": self = .number(NumberFormat())
            case "boolean": self = .boolean(trueWords: ["true", "yes", "y", "1"], falseWords: ["false", "no", "n", "0"])
            default: throw fail("unknown rule '\(name)' (rules: \(Self.names.joined(separator: ", ")))")
            }
            return
        }
        guard case let .mapping(mapping) = node, mapping.count == 1, let (key, value) = mapping.first, let name = key.string else {
            throw fail("a rule is a name or { name: parameters }")
        }
        func parameters(_ allowed: Set<String>) throws(MappingError) -> Node.Mapping {
            let parameters = try MappingYAML.mapping(value, name, file: context.file)
            try MappingYAML.allow(parameters, allowed, in: name, file: context.file)
            return parameters
        }
        func rounding(_ parameters: Node.Mapping, default fallback: Rounding) throws(MappingError) -> Rounding {
            guard let text = parameters["rounding"]?.string else { return fallback }
            guard let rounding = Rounding(rawValue: text) else {
                throw fail("rounding must be \(Rounding.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return rounding
        }
        switch name {
        case "money":
            let parameters = try parameters(["scale", "rounding"])
            let scale = parameters["scale"]?.int ?? 2
            guard (0...6).contains(scale) else { throw fail("money needs a scale of 0 to 6") }
            self = .money(scale: Int16(scale), rounding: try rounding(parameters, default: .halfEven))
        case "number":
            let parameters = try parameters(["decimal", "thousands", "currency", "scale", "rounding"])
            var format = NumberFormat()
            if let decimal = parameters["decimal"]?.string {
                guard decimal.count == 1, let character = decimal.first else { throw fail("number's decimal separator is one character") }
                format.decimalSeparator = character
            }
            if let thousands = parameters["thousands"]?.string {
                guard thousands.count == 1, let character = thousands.first, character != format.decimalSeparator else {
                    throw fail("number's thousands separator is one character, not the decimal separator")
                }
                format.thousandsSeparator = character
            }
            format.currencySigns = MappingYAML.strings(parameters["currency"])
            if let scale = parameters["scale"] {
                guard let value = scale.int, (0...6).contains(value) else { throw fail("number needs a scale of 0 to 6") }
                format.scale = Int16(value)
            }
            format.rounding = try rounding(parameters, default: .refuse)
            self = .number(format)
        case "date", "timestamp":
            var formats = MappingYAML.strings(value)
            var timeZone = context.timeZone
            if case .mapping = value {
                let parameters = try parameters(name == "date" ? ["formats"] : ["formats", "timezone"])
                formats = MappingYAML.strings(parameters["formats"])
                timeZone = parameters["timezone"]?.string ?? timeZone
            }
            guard !formats.isEmpty else { throw fail("\(name) needs formats, e.g. [dd/MM/yyyy, yyyy-MM-dd]") }
            for format in formats {
                let pattern = DatePattern(format)
                guard pattern.isValid, pattern.hasTime == (name == "timestamp") else {
                    throw fail("'\(format)' is not a \(name) pattern (yyyy, MM, M, dd, d\(name == "timestamp" ? ", HH, H, mm, ss, xxx" : ""))")
                }
            }
            guard TimeZone(identifier: timeZone) != nil else { throw fail("'\(timeZone)' is not a time zone (e.g. Australia/Sydney)") }
            self = name == "date" ? .date(formats: formats) : .timestamp(formats: formats, timeZone: timeZone)
        case "range":
            let parameters = try parameters(["min", "max"])
            let minimum = parameters["min"]?.string.flatMap { Decimal(string: $0) }
            let maximum = parameters["max"]?.string.flatMap { Decimal(string: $0) }
            guard minimum != nil || maximum != nil else { throw fail("range needs min or max") }
            self = .range(minimum: minimum, maximum: maximum)
        case "one-of":
            guard case let .sequence(list) = value, !list.isEmpty else { throw fail("one-of needs a list") }
            self = .oneOf(list.compactMap(\.string))
        case "max-length":
            guard let limit = value.int, limit > 0 else { throw fail("max-length needs a positive number") }
            self = .maxLength(limit)
        case "lookup":
            guard let table = value.string, context.lookups.contains(table) else { throw fail("lookup names a table that is not under lookups") }
            self = .lookup(table)
        case "map":
            let entries = try MappingYAML.mapping(value, "map", file: context.file)
            var map: [String: String] = [:]
            for (code, canonical) in entries {
                guard let code = code.string, let canonical = canonical.string else { throw fail("map's entries are code: value") }
                map[code] = canonical
            }
            guard !map.isEmpty else { throw fail("map needs at least one code: value") }
            self = .valueMap(map)
        case "boolean":
            let parameters = try parameters(["true", "false"])
            let trueWords = MappingYAML.strings(parameters["true"]), falseWords = MappingYAML.strings(parameters["false"])
            guard !trueWords.isEmpty, !falseWords.isEmpty else { throw fail("boolean needs true and false words") }
            self = .boolean(trueWords: trueWords, falseWords: falseWords)
        case "pattern":
            guard let expression = value.string, (try? NSRegularExpression(pattern: expression)) != nil else {
                throw fail("pattern needs a regular expression")
            }
            self = .pattern(expression)
        case "control-characters":
            guard let policy = value.string.flatMap(ControlCharacters.init(rawValue:)) else {
                throw fail("control-characters is refuse or remove")
            }
            self = .controlCharacters(policy)
        default:
            throw fail("unknown rule '\(name)' (rules: \(Self.names.joined(separator: ", ")))")
        }
    }

    static let names = ["trim", "upper", "lower", "required", "money", "number", "date", "timestamp", "range", "nmi-checksum", "email",
                        "one-of", "max-length", "lookup", "map", "boolean", "pattern", "control-characters"]
}

extension MappingRule {
    /// The rule in words, for the mapping documentation.
    public var explanation: String {
        switch self {
        case .trim: "trim spaces"
        case .upper: "upper case"
        case .lower: "lower case"
        case .required: "required"
        case let .money(scale, rounding): "amount, \(scale) decimals, rounded \(rounding.rawValue)"
        case let .number(format):
            "number with '\(format.decimalSeparator)' decimals"
                + (format.thousandsSeparator.map { ", '\($0)' thousands" } ?? "")
                + (format.currencySigns.isEmpty ? "" : ", currency \(format.currencySigns.joined(separator: " or ")) dropped")
                + (format.scale.map { ", \($0) decimals (\(format.rounding == .refuse ? "more refused" : "rounded \(format.rounding.rawValue)"))" } ?? "")
        case let .date(formats): "date from \(formats.joined(separator: " or ")), written YYYY-MM-DD"
        case let .timestamp(formats, timeZone): "time from \(formats.joined(separator: " or ")) in \(timeZone), written RFC 3339"
        case let .range(minimum, maximum):
            "between \(minimum.map { "\($0)" } ?? "−∞") and \(maximum.map { "\($0)" } ?? "∞")"
        case .nmiChecksum: "NMI check digit must be valid"
        case .email: "must be an email address"
        case let .oneOf(values): "one of \(values.joined(separator: ", "))"
        case let .maxLength(limit): "at most \(limit) characters"
        case let .lookup(table): "looked up in \(table)"
        case let .valueMap(map): "mapped " + map.sorted { $0.key < $1.key }.map { "\($0.key) → \($0.value)" }.joined(separator: ", ")
        case let .boolean(trueWords, falseWords): "true for \(trueWords.joined(separator: "/")), false for \(falseWords.joined(separator: "/"))"
        case let .pattern(expression): "must match `\(expression)`"
        case let .controlCharacters(policy): "control characters \(policy == .refuse ? "refused" : "removed")"
        }
    }
}
