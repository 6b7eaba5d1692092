import BillsyncContracts
import BillsyncJSON
import BillsyncMapping
import Foundation
import Yams

/// The declarative mapping a billing analyst reads and edits: for each raw message type, the
/// CRM object, its external id, and each field's source, target and rules.
///
/// ```yaml
/// version: 1
/// lookups:
///   tariffs: { file: tariffs.csv, key: TariffCode, value: Name }
/// objects:
///   - source: billing-bill
///     object: Account
///     externalId: { field: Billing_Customer_Id__c, from: customerId }   # or from: [meterId, readingDate]
///     refresh: every 4 hours
///     fields:
///       - { from: amountDue, to: Amount_Due__c, rules: [required, { money: { scale: 2, rounding: half-even } }] }
/// ```
public struct MappingDocument: Sendable {
    public struct Lookup: Sendable, Equatable {
        public let name: String
        public let file: String
        public let keyColumn: String
        public let valueColumn: String
    }

    public struct FieldMapping: Sendable, Equatable {
        /// Dotted path into the payload (`primaryAddress.postcode`).
        public let from: String
        /// The CRM field; nil for a field that is only checked (a validation rule).
        public let to: String?
        public let rules: [MappingRule]
        public let line: Int
        package let path: PayloadPath

        public init(from: String, to: String?, rules: [MappingRule], line: Int) {
            self.from = from
            self.to = to
            self.rules = rules
            self.line = line
            path = PayloadPath(from)
        }
    }

    public struct ObjectMapping: Sendable, Equatable {
        public let source: MessageType
        public let object: String
        public let externalIdField: String
        /// Source paths whose values, joined by `|`, form the external id.
        public let externalIdFrom: [String]
        public let refresh: String?
        public let fields: [FieldMapping]
        public let line: Int
        package let externalIdPaths: [PayloadPath]

        public init(source: MessageType, object: String, externalIdField: String, externalIdFrom: [String], refresh: String?,
                    fields: [FieldMapping], line: Int) {
            self.source = source
            self.object = object
            self.externalIdField = externalIdField
            self.externalIdFrom = externalIdFrom
            self.refresh = refresh
            self.fields = fields
            self.line = line
            externalIdPaths = externalIdFrom.map(PayloadPath.init)
        }
    }

    /// Roll-ups for commercial hierarchies (C1 → C2 → C3): each parent account gets totals over
    /// itself and every account below it.
    ///
    /// ```yaml
    /// hierarchy:
    ///   object: Account
    ///   externalId: Billing_Customer_Id__c   # matched on the parent's customer id
    ///   refresh: every 4 hours
    ///   rollups: { amountDue: Total_Amount_Due__c, revenue: Total_FYTD_Revenue__c, activeServices: Active_Services__c }
    /// ```
    public struct HierarchyMapping: Sendable, Equatable {
        public enum Measure: String, Sendable, CaseIterable {
            /// The latest bill's amount due of each account, summed.
            case amountDue
            /// The latest bill's fiscal-year-to-date revenue of each account, summed.
            case revenue
            /// Premises marked active, counted.
            case activeServices

            public var explanation: String {
                switch self {
                case .amountDue: "sum of the latest bill's amountDue of the account and every account below it"
                case .revenue: "sum of the latest bill's fiscalYearToDateRevenue of the account and every account below it"
                case .activeServices: "number of active premises of the account and every account below it"
                }
            }
        }

        public let object: String
        public let externalIdField: String
        public let refresh: String?
        /// Each measure and the CRM field it is written to, in a fixed order.
        public let rollups: [(measure: Measure, field: String)]
        public let line: Int

        public static func == (lhs: HierarchyMapping, rhs: HierarchyMapping) -> Bool {
            lhs.object == rhs.object && lhs.externalIdField == rhs.externalIdField && lhs.refresh == rhs.refresh
                && lhs.rollups.map(\.measure) == rhs.rollups.map(\.measure) && lhs.rollups.map(\.field) == rhs.rollups.map(\.field)
        }
    }

    public let lookups: [Lookup]
    public let objects: [ObjectMapping]
    public let hierarchy: HierarchyMapping?

    public init(yaml: String) throws(MappingError) {
        let root = try MappingYAML.root(yaml, file: "mapping file")
        let top = try Self.mapping(root, "the file")
        try Self.allow(top, ["version", "lookups", "objects", "timezone", "hierarchy"], in: "the file")
        guard top["version"]?.int == 1 else { throw MappingError(line: Self.line(root), message: "version must be 1") }
        var lookups: [Lookup] = []
        if let node = top["lookups"] {
            for (key, value) in try Self.mapping(node, "lookups") {
                let name = key.string ?? ""
                let entry = try Self.mapping(value, "lookup \(name)")
                try Self.allow(entry, ["file", "key", "value"], in: "lookup \(name)")
                guard let file = entry["file"]?.string, let keyColumn = entry["key"]?.string, let valueColumn = entry["value"]?.string else {
                    throw MappingError(line: Self.line(value), message: "lookup \(name) needs file, key and value")
                }
                lookups.append(Lookup(name: name, file: file, keyColumn: keyColumn, valueColumn: valueColumn))
            }
        }
        let context = MappingRule.Context(lookups: Set(lookups.map(\.name)), timeZone: top["timezone"]?.string ?? "UTC")
        guard let objectsNode = top["objects"], case let .sequence(objectList) = objectsNode, !objectList.isEmpty else {
            throw MappingError(line: Self.line(root), message: "objects must be a non-empty list")
        }
        var objects: [ObjectMapping] = []
        for node in objectList {
            let entry = try Self.mapping(node, "an object mapping")
            try Self.allow(entry, ["source", "object", "externalId", "refresh", "fields"], in: "an object mapping")
            guard let sourceName = entry["source"]?.string, let source = MessageType(rawValue: sourceName) else {
                throw MappingError(line: Self.line(entry["source"] ?? node),
                                   message: "source must be a message type (\(MessageType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let object = entry["object"]?.string, !object.isEmpty else { throw MappingError(line: Self.line(node), message: "object is missing") }
            guard let external = entry["externalId"] else { throw MappingError(line: Self.line(node), message: "externalId is missing") }
            let externalMapping = try Self.mapping(external, "externalId")
            let externalFrom: [String]
            switch externalMapping["from"] {
            case let .scalar(scalar)?: externalFrom = [scalar.string]
            case let .sequence(list)?: externalFrom = list.compactMap(\.string)
            default: externalFrom = []
            }
            guard let externalField = externalMapping["field"]?.string, !externalFrom.isEmpty else {
                throw MappingError(line: Self.line(external), message: "externalId needs field and from (a path or a list of paths)")
            }
            guard let fieldsNode = entry["fields"], case let .sequence(fieldList) = fieldsNode else {
                throw MappingError(line: Self.line(node), message: "fields must be a list")
            }
            var fields: [FieldMapping] = []
            for fieldNode in fieldList {
                let field = try Self.mapping(fieldNode, "a field")
                try Self.allow(field, ["from", "to", "rules"], in: "a field")
                guard let from = field["from"]?.string else { throw MappingError(line: Self.line(fieldNode), message: "a field needs from") }
                var rules: [MappingRule] = []
                if let rulesNode = field["rules"] {
                    guard case let .sequence(ruleList) = rulesNode else { throw MappingError(line: Self.line(rulesNode), message: "rules must be a list") }
                    rules = try ruleList.map { node throws(MappingError) in try MappingRule(node: node, context: context) }
                }
                fields.append(FieldMapping(from: from, to: field["to"]?.string, rules: rules, line: Self.line(fieldNode)))
            }
            objects.append(ObjectMapping(source: source, object: object, externalIdField: externalField, externalIdFrom: externalFrom,
                                         refresh: entry["refresh"]?.string, fields: fields, line: Self.line(node)))
        }
        self.lookups = lookups
        self.objects = objects
        self.hierarchy = try top["hierarchy"].map { node throws(MappingError) in try Self.hierarchy(node) }
    }

    static func hierarchy(_ node: Node) throws(MappingError) -> HierarchyMapping {
        let entry = try Self.mapping(node, "hierarchy")
        try Self.allow(entry, ["object", "externalId", "refresh", "rollups"], in: "hierarchy")
        guard let object = entry["object"]?.string, !object.isEmpty, let externalIdField = entry["externalId"]?.string, !externalIdField.isEmpty else {
            throw MappingError(line: Self.line(node), message: "hierarchy needs object and externalId (the field matched on the parent's customer id)")
        }
        guard let rollupsNode = entry["rollups"] else { throw MappingError(line: Self.line(node), message: "hierarchy needs rollups") }
        let rollupsMapping = try Self.mapping(rollupsNode, "rollups")
        try Self.allow(rollupsMapping, Set(HierarchyMapping.Measure.allCases.map(\.rawValue)), in: "rollups")
        var rollups: [(measure: HierarchyMapping.Measure, field: String)] = []
        for measure in HierarchyMapping.Measure.allCases {
            guard let value = rollupsMapping[measure.rawValue] else { continue }
            guard let field = value.string, !field.isEmpty else {
                throw MappingError(line: Self.line(value), message: "rollups.\(measure.rawValue) must name a CRM field")
            }
            rollups.append((measure, field))
        }
        guard !rollups.isEmpty else { throw MappingError(line: Self.line(rollupsNode), message: "rollups names no measure") }
        return HierarchyMapping(object: object, externalIdField: externalIdField, refresh: entry["refresh"]?.string,
                                rollups: rollups, line: Self.line(node))
    }

    static func mapping(_ node: Node, _ what: String) throws(MappingError) -> Node.Mapping { try MappingYAML.mapping(node, what) }
    static func allow(_ mapping: Node.Mapping, _ keys: Set<String>, in what: String) throws(MappingError) { try MappingYAML.allow(mapping, keys, in: what) }
    static func line(_ node: Node) -> Int { MappingYAML.line(node) }
}
