import BillsyncContracts
import BillsyncCSV
import BillsyncJSON

/// How one structured record of a source (a billing API record, a SQL row) becomes canonical
/// records: by a source in the source mapping file, or, for a source the file does not declare,
/// by the built-in shape (snake_case fields to the contract's names).
public protocol StructuredRecordMapping: Sendable {
    /// The records `record` yields, or why it is refused (`origin` names where it came from).
    func records(of record: JSONValue, origin: String) -> Result<[ExportRecord], RowRejection>
}

extension RawRecordShape: StructuredRecordMapping {
    public func records(of record: JSONValue, origin: String) -> Result<[ExportRecord], RowRejection> {
        let payload = payload(from: record)
        guard let key = key(of: payload) else {
            return .failure(RowRejection(file: origin, line: 0, column: 0, field: keyFields.joined(separator: "|"),
                                         reason: "\(type.rawValue) record has no \(keyFields.joined(separator: " and "))"))
        }
        return .success([ExportRecord(type: type, declaration: 0, entity: entity, key: key, payload: payload)])
    }
}

/// A source of the source mapping file applied to structured records: each field of the record
/// is a column (nested objects as `address.line1`), so API resources and SQL queries are mapped
/// with the same columns, rules and templates as files.
public struct SourceRecordMapping: StructuredRecordMapping {
    public let source: SourceMappingDocument.Source

    public init(source: SourceMappingDocument.Source) {
        self.source = source
    }

    public func records(of record: JSONValue, origin: String) -> Result<[ExportRecord], RowRejection> {
        var names: [String] = []
        var values: [[UInt8]] = []
        Self.flatten(record, prefix: "", names: &names, values: &values)
        do throws(RowRejection) {
            let mapper = try SourceRowMapper(source: source, names: names, file: origin, line: 0)
            let row = CSVRawRecord(line: 0, fields: values, fieldOffsets: Array(repeating: 0, count: values.count), bytes: record.serialized())
            return mapper.records(of: row)
        } catch {
            return .failure(error)
        }
    }

    /// Every leaf of the record as a named column; a null is left out (absent), an array is kept
    /// as its JSON text.
    static func flatten(_ value: JSONValue, prefix: String, names: inout [String], values: inout [[UInt8]]) {
        switch value {
        case let .object(object):
            for key in object.keys {
                guard let member = object[key] else { continue }
                flatten(member, prefix: prefix.isEmpty ? key : "\(prefix).\(key)", names: &names, values: &values)
            }
        case .null: return
        case let .string(text): names.append(prefix); values.append(Array(text.utf8))
        case let .number(number): names.append(prefix); values.append(Array(number.text.utf8))
        case let .bool(flag): names.append(prefix); values.append(Array(String(flag).utf8))
        case .array: names.append(prefix); values.append(value.serialized())
        }
    }
}
