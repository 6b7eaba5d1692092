import BillsyncContracts
import BillsyncCSV
import BillsyncJSON
import BillsyncMapping
import Foundation

/// One canonical billing record read from a row, bound for its raw topic under its business key.
public struct ExportRecord: Sendable, Equatable {
    public let type: MessageType
    /// Which of its source's record declarations made it (their order in the mapping file).
    public let declaration: Int
    /// `account` → `<prefix>.raw.account`.
    public let entity: String
    public let key: String
    /// The canonical record, as its contract describes it.
    public let payload: JSONValue
}

/// A source's mapping bound to one file's header: reads each row's columns (decoded from the
/// source's encoding, control characters handled, trimmed), applies each field's rules, and
/// builds the records the row yields, or refuses the row naming its line, column and reason.
public struct SourceRowMapper: Sendable {
    public let source: SourceMappingDocument.Source
    public let file: String
    /// Normalised header name → index.
    private let indices: [String: Int]
    private let header: [String]
    /// Record types no row of this file can yield: the column that decides them is missing.
    public let recordTypesWithoutColumn: [MessageType]
    /// Per record declaration: which column each of its fields came from, as the
    /// `billsync.origin.columns` header carries it (nil when no field reads a column).
    public let columnsHeaders: [[UInt8]?]
    /// Per record, per field: its column's index in the header, worked out once per file.
    private let columnIndices: [[Int?]]
    /// Columns the mapping names that the header does not have (their fields stay empty): worth
    /// a warning, since a misspelt column name looks exactly like an empty one.
    public let unmatchedColumns: [String]

    /// Fails (the whole file) when a column a required field reads is missing from the header.
    public init(source: SourceMappingDocument.Source, header: CSVRawRecord, file: String) throws(RowRejection) {
        var names: [String] = []
        for (index, bytes) in header.fields.enumerated() {
            guard case let .success(name) = source.format.encoding.decode(bytes) else {
                throw RowRejection(file: file, line: header.line, column: index + 1, field: "(header)",
                                   reason: "the header is not \(source.format.encoding.rawValue) text")
            }
            names.append(name.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try self.init(source: source, names: names, file: file, line: header.line)
    }

    /// Columns by name: a file's header, or the fields of an API or SQL record.
    public init(source: SourceMappingDocument.Source, names: [String], file: String, line: Int = 1) throws(RowRejection) {
        self.source = source
        self.file = file
        var indices: [String: Int] = [:]
        for (index, name) in names.enumerated() where indices[Self.normalised(name)] == nil { indices[Self.normalised(name)] = index }
        self.indices = indices
        self.header = names
        // A header without the column that decides whether a row has a record (a bill when there
        // is an amount due: a customer-only export) yields none of that record: said per file.
        var skipped: [MessageType] = []
        for record in source.records {
            guard let when = record.when, let field = record.fields.first(where: { $0.path == when }) else { continue }
            if !field.columns.contains(where: { indices[Self.normalised($0)] != nil }) { skipped.append(record.type) }
        }
        recordTypesWithoutColumn = skipped
        var unmatched: [String] = []
        for record in source.records {
            for field in record.fields where !field.columns.isEmpty && !field.columns.contains(where: { indices[Self.normalised($0)] != nil }) {
                if !unmatched.contains(field.columns[0]) { unmatched.append(field.columns[0]) }
            }
        }
        unmatchedColumns = unmatched
        columnIndices = source.records.map { record in
            record.fields.map { field in field.columns.lazy.compactMap { indices[Self.normalised($0)] }.first }
        }
        columnsHeaders = zip(source.records, columnIndices).map { record, positions in
            var columns = JSONObject()
            for (field, position) in zip(record.fields, positions) where !field.path.hasPrefix("_") {
                guard let position else { continue }
                columns[field.path] = .array([.number(JSONNumber(Decimal(position + 1))), .string(names[position])])
            }
            return columns.count == 0 ? nil : JSONValue.object(columns).serialized()
        }
        // A record every row yields needs its required columns; one a row yields only when it has
        // a value (a bill when there is an amount due) refuses that row instead.
        for record in source.records where record.when == nil {
            for field in record.fields where field.isRequired && field.fallback == nil && !field.columns.isEmpty {
                guard field.columns.contains(where: { indices[Self.normalised($0)] != nil }) else {
                    throw RowRejection(file: file, line: line, column: 0, field: field.columns[0],
                                       reason: "the header has no \(field.columns.joined(separator: " or ")) column (source \(source.name))")
                }
            }
        }
    }

    /// Header names compared without regard to case or spacing: `Customer ID` is `customerid`.
    static func normalised(_ name: String) -> String {
        String(name.lowercased().unicodeScalars.filter { !CharacterSet.whitespaces.contains($0) && $0 != "_" })
    }

    /// The header's index of a field's column, the first alias present.
    func index(of field: SourceMappingDocument.FieldMapping) -> Int? {
        field.columns.lazy.compactMap { indices[Self.normalised($0)] }.first
    }

    /// Where a canonical field comes from in the file, for a refusal found later (by the contract).
    public func location(ofPath path: String) -> (column: Int, name: String)? {
        for record in source.records {
            guard let field = record.fields.first(where: { $0.path == path }) else { continue }
            if let index = index(of: field) { return (index + 1, header[index]) }
        }
        return nil
    }

    public func records(of row: CSVRawRecord) -> Result<[ExportRecord], RowRejection> {
        do throws(RowRejection) {
            return .success(try map(row))
        } catch {
            return .failure(error)
        }
    }

    private func map(_ row: CSVRawRecord) throws(RowRejection) -> [ExportRecord] {
        guard row.fields.count <= header.count else {
            throw RowRejection(file: file, line: row.line, column: header.count + 1, field: "(row)",
                               reason: "the row has \(row.fields.count) fields, the header \(header.count)")
        }
        // A short row is most often half of a row split by a stray line break: refused, unless
        // the source declares that it leaves trailing empty fields out.
        guard row.fields.count == header.count || source.format.shortRows else {
            throw RowRejection(file: file, line: row.line, column: row.fields.count, field: "(row)",
                               reason: "the row has \(row.fields.count) fields, the header \(header.count) (a line break outside quotes?)")
        }
        // Each column is decoded and cleaned once, however many fields read it.
        var columns = [MappedValue?](repeating: nil, count: header.count)
        func column(_ index: Int?) throws(RowRejection) -> MappedValue {
            guard let index else { return .absent }
            if let value = columns[index] { return value }
            let value = try read(row, column: index)
            columns[index] = value
            return value
        }
        var records: [ExportRecord] = []
        for (recordIndex, record) in source.records.enumerated() {
            let fieldColumns = columnIndices[recordIndex]
            var values: [String: MappedValue] = [:]
            func reject(_ field: SourceMappingDocument.FieldMapping, _ rejection: MappingRejection) -> RowRejection {
                let index = self.index(of: field)
                return RowRejection(file: file, line: row.line, column: index.map { $0 + 1 } ?? 0, field: index.map { header[$0] } ?? field.path,
                                    reason: "\(rejection.message) [\(rejection.rule)] → \(field.path)")
            }
            func apply(_ field: SourceMappingDocument.FieldMapping, _ start: MappedValue) throws(RowRejection) -> MappedValue {
                var value = start
                do throws(MappingRejection) {
                    for rule in field.rules { value = try rule.apply(value, field: field.path) }
                } catch {
                    throw reject(field, error)
                }
                return value
            }
            // A record the row does not have (no amount due, no bill) is skipped before any of
            // its fields' rules can refuse the row.
            if let when = record.when, let position = record.fields.firstIndex(where: { $0.path == when }) {
                let field = record.fields[position]
                var value: MappedValue = .absent
                if case .column = field.source { value = try column(fieldColumns[position]) }
                if case .absent = value, case let .constant(constant)? = field.fallback { value = Self.value(constant) }
                if case .absent = value { continue }
            }
            // Columns and constants first, then templates, which read the fields they name.
            var deferred: [SourceMappingDocument.FieldMapping] = []
            for (position, field) in record.fields.enumerated() {
                var value: MappedValue
                switch field.source {
                case .column: value = try column(fieldColumns[position])
                case let .constant(constant): value = Self.value(constant)
                case .template:
                    deferred.append(field)
                    continue
                }
                if case .absent = value {
                    switch field.fallback {
                    case let .constant(constant)?: value = Self.value(constant)
                    case .template?:
                        deferred.append(field)
                        continue
                    default: break
                    }
                }
                values[field.path] = try apply(field, value)
            }
            for field in deferred {
                let template: SourceMappingDocument.Template
                switch (field.source, field.fallback) {
                case let (.template(own), _): template = own
                case let (_, .template(fallback)?): template = fallback
                default: continue
                }
                values[field.path] = try apply(field, Self.fill(template, from: values))
            }
            if let when = record.when, values[when] ?? .absent == .absent { continue }
            var parts: [String] = []
            for name in record.key {
                guard let text = values[name]?.text, !text.isEmpty else {
                    let rejection = MappingRejection(rule: "key", field: name, message: "is empty, and \(record.type.rawValue) is keyed by it")
                    if let field = record.fields.first(where: { $0.path == name }) { throw reject(field, rejection) }
                    throw RowRejection(file: file, line: row.line, column: 0, field: name, reason: rejection.message)
                }
                parts.append(text)
            }
            records.append(ExportRecord(type: record.type, declaration: recordIndex, entity: record.entity, key: parts.joined(separator: "|"),
                                        payload: Self.payload(record.fields, values)))
        }
        return records
    }

    /// A column's value: decoded exactly, control characters refused or removed as the source
    /// declares, trimmed; empty is absent.
    private func read(_ row: CSVRawRecord, column index: Int) throws(RowRejection) -> MappedValue {
        guard index < row.fields.count else { return .absent }
        let bytes = row.fields[index]
        let name = header[index]
        let text: String
        switch source.format.encoding.decode(bytes) {
        case let .success(decoded): text = decoded
        case let .failure(failure):
            // Each quote in a quoted field's content was written doubled.
            let offset = row.fieldOffsets[index] + failure.index + bytes[..<failure.index].filter { $0 == UInt8(ascii: "\"") }.count
            throw RowRejection(file: file, line: row.line, column: index + 1, field: name,
                               reason: String(format: "byte 0x%02X at byte offset %d ", failure.byte, offset) + failure.reason
                                   + " (the source is declared \(source.format.encoding.rawValue))")
        }
        var value = MappedValue.text(text)
        do throws(MappingRejection) {
            value = try MappingRule.controlCharacters(source.format.controlCharacters).apply(value, field: name)
            if source.format.trim { value = try MappingRule.trim.apply(value, field: name) }
        } catch {
            throw RowRejection(file: file, line: row.line, column: index + 1, field: name, reason: "\(error.message) [\(error.rule)]")
        }
        if case let .text(text) = value, text.isEmpty { return .absent }
        return value
    }

    static func value(_ constant: JSONValue) -> MappedValue {
        switch constant {
        case let .bool(flag): .bool(flag)
        case let .string(text): .text(text)
        default: .absent
        }
    }

    static func fill(_ template: SourceMappingDocument.Template, from values: [String: MappedValue]) -> MappedValue {
        var text = ""
        for part in template.parts {
            switch part {
            case let .literal(literal): text += literal
            case let .field(name):
                guard let value = values[name]?.text else { return .absent }
                text += value
            }
        }
        return .text(text)
    }

    /// The canonical record: dotted paths become nested objects; absent values are left out, and
    /// so is an object none of whose fields has a value.
    static func payload(_ fields: [SourceMappingDocument.FieldMapping], _ values: [String: MappedValue]) -> JSONValue {
        var root = JSONObject()
        // `_name` fields are working values for templates.
        for field in fields where !field.path.hasPrefix("_") {
            let json: JSONValue
            switch values[field.path] ?? .absent {
            case .absent: continue
            case let .text(text): json = .string(text)
            case let .decimal(decimal): json = .string("\(decimal)")
            case let .bool(flag): json = .bool(flag)
            }
            field.payloadPath.set(json, in: &root)
        }
        return .object(root)
    }
}
