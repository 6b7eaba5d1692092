import BillsyncContracts
import BillsyncCSV
import BillsyncJSON
import BillsyncMapping
import BillsyncTopics
import Foundation
import Yams

/// How each of a billing engine's exports becomes canonical billing records: per source, which
/// files it reads (by name pattern) and how they are written (encoding, delimiter), which
/// records a row yields, and for each canonical field its column (by header name, with aliases,
/// any case and spacing), constant or template, and the rules that turn the source's text into
/// the canonical value. Everything about a source's own representation lives here, so adapting
/// to a new billing engine is a change to this file, not to Swift.
///
/// ```yaml
/// version: 1
/// timezone: Australia/Sydney
/// sources:
///   - name: accounts
///     files: [billing_export*.csv]
///     format: { encoding: windows-1252, delimiter: ";" }
///     records:
///       - type: billing-account
///         key: customerId
///         fields:
///           customerId: { column: [CustomerID, Cust No], rules: [required] }
///           accountId: { column: AccountID, default: "ACC-{customerId}" }
///           accountType: { column: Type, rules: [{ map: { R: residential, C: commercial } }] }
///           status: { value: active }
/// ```
public struct SourceMappingDocument: Sendable {
    static let fileName = "source mapping file"

    /// How a source's files are written.
    public struct FileFormat: Sendable, Equatable {
        public var encoding: TextEncoding = .utf8
        public var delimiter: UInt8 = UInt8(ascii: ",")
        /// Applied to every value before the field's own rules.
        public var controlCharacters: MappingRule.ControlCharacters = .refuse
        /// Every value trimmed of surrounding spaces, an empty one then absent.
        public var trim = true
        /// Rows with fewer fields than the header are read (the missing ones empty) instead of refused.
        public var shortRows = false

        public init() {}
    }

    /// `BILL-{customerId}-{lastBillDate}`: literal text and canonical fields of the same record.
    public struct Template: Sendable, Equatable {
        public enum Part: Sendable, Equatable {
            case literal(String)
            case field(String)
        }

        public let text: String
        public let parts: [Part]

        init?(_ text: String) {
            var parts: [Part] = []
            var rest = Substring(text)
            while let open = rest.firstIndex(of: "{") {
                guard let close = rest[open...].firstIndex(of: "}") else { return nil }
                if open > rest.startIndex { parts.append(.literal(String(rest[..<open]))) }
                let name = rest[rest.index(after: open)..<close].trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty else { return nil }
                parts.append(.field(name))
                rest = rest[rest.index(after: close)...]
            }
            guard parts.contains(where: { if case .field = $0 { true } else { false } }) else { return nil }
            if !rest.isEmpty { parts.append(.literal(String(rest))) }
            self.text = text
            self.parts = parts
        }

        public var fields: [String] { parts.compactMap { if case let .field(name) = $0 { name } else { nil } } }
    }

    /// Where a canonical field's value comes from.
    public enum ValueSource: Sendable, Equatable {
        /// The first of these columns the file's header has.
        case column([String])
        case constant(JSONValue)
        case template(Template)
    }

    public struct FieldMapping: Sendable, Equatable {
        /// The canonical field's dotted path (`primaryAddress.postcode`).
        public let path: String
        public let source: ValueSource
        /// Used when the column is absent or empty: a constant or a template.
        public let fallback: ValueSource?
        public let rules: [MappingRule]
        public let line: Int
        /// `path`, split once: every row's record is written by it.
        public let payloadPath: PayloadPath

        public init(path: String, source: ValueSource, fallback: ValueSource?, rules: [MappingRule], line: Int) {
            self.path = path
            self.source = source
            self.fallback = fallback
            self.rules = rules
            self.line = line
            payloadPath = PayloadPath(path)
        }

        public var columns: [String] { if case let .column(names) = source { names } else { [] } }
        public var isRequired: Bool { rules.contains(.required) }
    }

    public struct RecordMapping: Sendable, Equatable {
        public let type: MessageType
        /// The raw topic's entity (`billing-meter-reading` → `meter-reading`).
        public let entity: String
        /// Canonical fields whose values, joined by `|`, are the business key.
        public let key: [String]
        /// A canonical field that must have a value for the row to yield this record at all (a
        /// bill only when the row has an amount due).
        public let when: String?
        public let fields: [FieldMapping]
        public let line: Int
    }

    /// An incremental SQL query a source reads (PostgreSQL), by a watermark column and a tie-breaker.
    public struct SQLQuery: Sendable, Equatable {
        public let query: String
        public let watermark: String
        public let tieBreaker: String
    }

    public struct Source: Sendable, Equatable {
        public let name: String
        public let description: String?
        /// File name patterns (`billing_export*.csv`), matched without regard to case; empty for
        /// an API resource or a SQL query.
        public let files: [String]
        /// The billing API resource (`accounts`) whose records this source maps.
        public let api: String?
        public let sql: SQLQuery?
        public var format: FileFormat
        public let refresh: String?
        public let records: [RecordMapping]
        public let line: Int

        public func reads(file name: String) -> Bool {
            files.contains { fnmatch($0.lowercased(), name.lowercased(), 0) == 0 }
        }
    }

    public var sources: [Source]

    /// The first source whose patterns match the file's name.
    public func source(forFile name: String) -> Source? {
        sources.first { $0.reads(file: name) }
    }

    public init(contentsOf url: URL) throws {
        try self.init(yaml: String(decoding: try Data(contentsOf: url), as: UTF8.self))
    }

    public init(yaml: String) throws(MappingError) {
        let file = Self.fileName
        func fail(_ node: Node, _ message: String) -> MappingError { MappingError(line: MappingYAML.line(node), message: message, file: file) }
        let root = try MappingYAML.root(yaml, file: file)
        let top = try MappingYAML.mapping(root, "the file", file: file)
        try MappingYAML.allow(top, ["version", "timezone", "sources"], in: "the file", file: file)
        guard top["version"]?.int == 1 else { throw fail(root, "version must be 1") }
        let timeZone = top["timezone"]?.string ?? "UTC"
        guard TimeZone(identifier: timeZone) != nil else { throw fail(top["timezone"] ?? root, "'\(timeZone)' is not a time zone") }
        guard let sourcesNode = top["sources"], case let .sequence(sourceList) = sourcesNode, !sourceList.isEmpty else {
            throw fail(root, "sources must be a non-empty list")
        }
        var sources: [Source] = []
        for node in sourceList {
            let entry = try MappingYAML.mapping(node, "a source", file: file)
            try MappingYAML.allow(entry, ["name", "description", "files", "api", "sql", "format", "timezone", "refresh", "records"], in: "a source", file: file)
            guard let name = entry["name"]?.string, !name.isEmpty else { throw fail(node, "a source needs a name") }
            guard !sources.contains(where: { $0.name == name }) else { throw fail(node, "source \(name) is declared twice") }
            let files = MappingYAML.strings(entry["files"])
            let api = entry["api"]?.string
            let sql = try entry["sql"].map { node throws(MappingError) in try Self.sql(node) }
            guard [!files.isEmpty, api != nil, sql != nil].filter({ $0 }).count == 1 else {
                throw fail(node, "source \(name) reads one of files (name patterns: billing_export*.csv), api (a billing API resource) or sql (a query)")
            }
            let format = try Self.format(entry["format"], source: name)
            let sourceZone = entry["timezone"]?.string ?? timeZone
            guard TimeZone(identifier: sourceZone) != nil else { throw fail(entry["timezone"] ?? node, "'\(sourceZone)' is not a time zone") }
            let context = MappingRule.Context(lookups: [], timeZone: sourceZone, file: file)
            guard let recordsNode = entry["records"], case let .sequence(recordList) = recordsNode, !recordList.isEmpty else {
                throw fail(node, "source \(name) needs records: the canonical records a row yields")
            }
            let records = try recordList.map { node throws(MappingError) in try Self.record(node, context: context) }
            sources.append(Source(name: name, description: entry["description"]?.string, files: files, api: api, sql: sql, format: format,
                                  refresh: entry["refresh"]?.string, records: records, line: MappingYAML.line(node)))
        }
        self.sources = sources
    }

    static func sql(_ node: Node) throws(MappingError) -> SQLQuery {
        let entry = try MappingYAML.mapping(node, "sql", file: Self.fileName)
        try MappingYAML.allow(entry, ["query", "watermark", "tie-breaker"], in: "sql", file: Self.fileName)
        guard let query = entry["query"]?.string, !query.isEmpty else {
            throw MappingError(line: MappingYAML.line(node), message: "sql needs a query", file: Self.fileName)
        }
        return SQLQuery(query: query, watermark: entry["watermark"]?.string ?? "updated_at", tieBreaker: entry["tie-breaker"]?.string ?? "id")
    }

    /// The source that maps the billing API's `resource`, if one does.
    public func source(forResource resource: String) -> Source? {
        sources.first { $0.api == resource }
    }

    static func format(_ node: Node?, source: String) throws(MappingError) -> FileFormat {
        var format = FileFormat()
        guard let node else { return format }
        let file = Self.fileName
        let entry = try MappingYAML.mapping(node, "format", file: file)
        try MappingYAML.allow(entry, ["encoding", "delimiter", "control-characters", "trim", "short-rows"], in: "format", file: file)
        if let value = entry["encoding"] {
            guard let encoding = value.string.flatMap({ TextEncoding(rawValue: $0.lowercased()) }) else {
                throw MappingError(line: MappingYAML.line(value), message: "encoding must be \(TextEncoding.allCases.map(\.rawValue).joined(separator: ", "))",
                                   file: file)
            }
            format.encoding = encoding
        }
        if let value = entry["delimiter"] {
            let text = value.string == "tab" ? "\t" : value.string ?? ""
            guard text.utf8.count == 1, let byte = text.utf8.first, byte != UInt8(ascii: "\""), byte != 0x0A, byte != 0x0D else {
                throw MappingError(line: MappingYAML.line(value), message: "delimiter is one ASCII character (, ; | or tab)", file: file)
            }
            format.delimiter = byte
        }
        if let value = entry["control-characters"] {
            guard let policy = value.string.flatMap(MappingRule.ControlCharacters.init(rawValue:)) else {
                throw MappingError(line: MappingYAML.line(value), message: "control-characters is refuse or remove", file: file)
            }
            format.controlCharacters = policy
        }
        if let value = entry["short-rows"] {
            guard let text = value.string, text == "allow" || text == "refuse" else {
                throw MappingError(line: MappingYAML.line(value), message: "short-rows is allow or refuse", file: file)
            }
            format.shortRows = text == "allow"
        }
        if let value = entry["trim"] {
            guard let trim = value.bool else { throw MappingError(line: MappingYAML.line(value), message: "trim is true or false", file: file) }
            format.trim = trim
        }
        return format
    }

    static func record(_ node: Node, context: MappingRule.Context) throws(MappingError) -> RecordMapping {
        let file = Self.fileName
        func fail(_ node: Node, _ message: String) -> MappingError { MappingError(line: MappingYAML.line(node), message: message, file: file) }
        let entry = try MappingYAML.mapping(node, "a record", file: file)
        try MappingYAML.allow(entry, ["type", "key", "when", "fields"], in: "a record", file: file)
        let rawTypes = MessageType.allCases.filter { TopicCatalog.billingEntities.contains(Self.entity(of: $0)) }
        guard let typeName = entry["type"]?.string, let type = MessageType(rawValue: typeName), rawTypes.contains(type) else {
            throw fail(entry["type"] ?? node, "type must be a billing record type (\(rawTypes.map(\.rawValue).joined(separator: ", ")))")
        }
        let key = MappingYAML.strings(entry["key"])
        guard !key.isEmpty else { throw fail(node, "\(typeName) needs key: the canonical field(s) that identify it") }
        guard let fieldsNode = entry["fields"] else { throw fail(node, "\(typeName) needs fields") }
        var fields: [FieldMapping] = []
        for (pathNode, value) in try MappingYAML.mapping(fieldsNode, "fields", file: file) {
            guard let path = pathNode.string, !path.isEmpty else { throw fail(pathNode, "a field is named by its canonical path") }
            fields.append(try Self.field(path, value, context: context))
        }
        let paths = Set(fields.map(\.path))
        for name in key where !paths.contains(name) { throw fail(entry["key"] ?? node, "key field \(name) is not among \(typeName)'s fields") }
        let when = entry["when"]?.string
        if let when {
            guard let field = fields.first(where: { $0.path == when }), !field.columns.isEmpty else {
                throw fail(entry["when"] ?? node, "when names \(when), which is not among \(typeName)'s fields read from a column")
            }
        }
        for field in fields {
            let referenced = [field.source, field.fallback].compactMap { source -> Template? in
                if case let .template(template)? = source { template } else { nil }
            }.flatMap(\.fields)
            for name in referenced {
                guard let target = fields.first(where: { $0.path == name }) else {
                    throw MappingError(line: field.line, message: "\(field.path) refers to {\(name)}, which is not among \(typeName)'s fields", file: file)
                }
                if case .template = target.source {
                    throw MappingError(line: field.line, message: "\(field.path) refers to {\(name)}, itself a template", file: file)
                }
            }
        }
        return RecordMapping(type: type, entity: Self.entity(of: type), key: key, when: when, fields: fields, line: MappingYAML.line(node))
    }

    static func field(_ path: String, _ node: Node, context: MappingRule.Context) throws(MappingError) -> FieldMapping {
        let file = Self.fileName
        let line = MappingYAML.line(node)
        // `name: Name` is shorthand for `name: { column: Name }`.
        if let column = node.string {
            return FieldMapping(path: path, source: .column([column]), fallback: nil, rules: [], line: line)
        }
        let entry = try MappingYAML.mapping(node, path, file: file)
        try MappingYAML.allow(entry, ["column", "value", "template", "default", "rules"], in: path, file: file)
        let sources = ["column", "value", "template"].filter { entry[$0] != nil }
        guard sources.count == 1 else {
            throw MappingError(line: line, message: "\(path) needs exactly one of column, value or template", file: file)
        }
        let source: ValueSource
        switch sources[0] {
        case "column":
            let names = MappingYAML.strings(entry["column"])
            guard !names.isEmpty else { throw MappingError(line: line, message: "\(path)'s column names a header (or a list of aliases)", file: file) }
            source = .column(names)
        case "value":
            source = .constant(try Self.constant(entry["value"]!, path: path))
        default:
            guard let text = entry["template"]?.string, let template = Template(text) else {
                throw MappingError(line: line, message: "\(path)'s template needs at least one {field}", file: file)
            }
            source = .template(template)
        }
        var fallback: ValueSource?
        if let node = entry["default"] {
            guard case .column = source else { throw MappingError(line: line, message: "\(path): a default is for a column that may be empty", file: file) }
            if let text = node.string, let template = Template(text) { fallback = .template(template) } else { fallback = .constant(try Self.constant(node, path: path)) }
        }
        var rules: [MappingRule] = []
        if let rulesNode = entry["rules"] {
            guard case let .sequence(list) = rulesNode else { throw MappingError(line: MappingYAML.line(rulesNode), message: "rules must be a list", file: file) }
            rules = try list.map { node throws(MappingError) in try MappingRule(node: node, context: context) }
        }
        return FieldMapping(path: path, source: source, fallback: fallback, rules: rules, line: line)
    }

    static func constant(_ node: Node, path: String) throws(MappingError) -> JSONValue {
        guard case let .scalar(scalar) = node else {
            throw MappingError(line: MappingYAML.line(node), message: "\(path)'s value is a single value", file: Self.fileName)
        }
        if scalar.style == .plain, scalar.string == "true" || scalar.string == "false" { return .bool(scalar.string == "true") }
        return .string(scalar.string)
    }

    static func entity(of type: MessageType) -> String {
        type.rawValue.hasPrefix("billing-") ? String(type.rawValue.dropFirst("billing-".count)) : type.rawValue
    }
}
