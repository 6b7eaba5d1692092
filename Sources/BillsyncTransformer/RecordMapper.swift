import BillsyncContracts
import BillsyncCSV
import BillsyncJSON
import BillsyncMapping
import Foundation

/// Applies a mapping document to raw records: every object mapping for the record's type yields
/// an upsert command, or the first rule the record breaks.
public struct RecordMapper: Sendable {
    public let document: MappingDocument
    let lookups: [String: [String: String]]
    /// Each record type's object mappings, in the document's order.
    public let objectsByType: [MessageType: [MappingDocument.ObjectMapping]]

    /// Loads the lookup tables the document names, from CSV files in `lookupDirectory`.
    public init(document: MappingDocument, lookupDirectory: URL) throws {
        var lookups: [String: [String: String]] = [:]
        for lookup in document.lookups {
            let bytes = [UInt8](try Data(contentsOf: lookupDirectory.appendingPathComponent(lookup.file)))
            var reader = CSVRecordReader(bytes: bytes)
            guard case let .success(header)? = reader.next(),
                  let keyIndex = header.fields.firstIndex(of: lookup.keyColumn),
                  let valueIndex = header.fields.firstIndex(of: lookup.valueColumn) else {
                throw MappingError(line: 0, message: "lookup \(lookup.name): \(lookup.file) has no \(lookup.keyColumn) and \(lookup.valueColumn) columns")
            }
            var table: [String: String] = [:]
            while case let .success(record)? = reader.next() {
                guard record.fields.count > max(keyIndex, valueIndex) else { continue }
                table[record.fields[keyIndex]] = record.fields[valueIndex]
            }
            lookups[lookup.name] = table
        }
        self.document = document
        self.lookups = lookups
        objectsByType = Dictionary(grouping: document.objects, by: \.source)
    }

    /// The upserts for one raw record (one per object mapping of its type).
    public func map(_ payload: JSONValue, type: MessageType) -> [Result<CRMUpsert, MappingRejection>] {
        (objectsByType[type] ?? []).map { mapping in
            do throws(MappingRejection) {
                return .success(try apply(mapping, to: payload))
            } catch {
                return .failure(error)
            }
        }
    }

    func apply(_ mapping: MappingDocument.ObjectMapping, to payload: JSONValue) throws(MappingRejection) -> CRMUpsert {
        let payload: JSONObject = if case let .object(object) = payload { object } else { JSONObject() }
        var parts: [String] = []
        for path in mapping.externalIdPaths {
            guard let part = MappedValue(path.value(in: payload)).text, !part.isEmpty else {
                throw MappingRejection(rule: "external-id", field: path.description, message: "is required for \(mapping.object).\(mapping.externalIdField)")
            }
            parts.append(part)
        }
        let externalId = parts.joined(separator: "|")
        var fields: [String: CRMFieldValue] = [:]
        fields.reserveCapacity(mapping.fields.count)
        for field in mapping.fields {
            var value = MappedValue(field.path.value(in: payload))
            for rule in field.rules {
                value = try rule.apply(value, field: field.from, lookups: lookups)
            }
            guard let target = field.to else { continue }
            switch value {
            case .absent: continue
            case let .text(text): fields[target] = .string(text)
            case let .decimal(decimal): fields[target] = .decimal(decimal)
            case let .bool(bool): fields[target] = .bool(bool)
            }
        }
        return CRMUpsert(object: mapping.object, externalIdField: mapping.externalIdField, externalId: externalId, fields: fields)
    }
}

extension MappedValue {
    /// A canonical record's field as the rules see it.
    init(_ json: JSONValue?) {
        switch json {
        case nil, .null?: self = .absent
        case let .string(text)?: self = .text(text)
        case let .number(number)?: self = .decimal(number.decimal)
        case let .bool(value)?: self = .bool(value)
        default: self = .absent
        }
    }
}
