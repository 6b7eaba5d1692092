import Foundation
import PostgresNIO

/// One row of a result as text, by column, nil for SQL NULL: what the SQL source makes records
/// of and what a caller compares.
public struct PostgresTextRow: Sendable, Hashable {
    public let columns: [String]
    public let values: [String?]

    public init(columns: [String], values: [String?]) {
        self.columns = columns
        self.values = values
    }

    public subscript(_ column: String) -> String? {
        columns.firstIndex(of: column).flatMap { values[$0] }
    }
}

extension PostgresTextRow {
    /// A row of postgres-nio's binary results as text, for the scalar types a statement of
    /// billsync's own returns (booleans as libpq prints them, `t`/`f`; integers; text). Another
    /// type (numeric, dates: their text depends on scale and session settings) is an
    /// error naming the column: cast it to text in the statement, or read it with
    /// `PostgresSession.records`, which takes any type as PostgreSQL prints it.
    init(binary row: PostgresRow) throws {
        var columns: [String] = []
        var values: [String?] = []
        for cell in row {
            columns.append(cell.columnName)
            values.append(try Self.text(of: cell))
        }
        self.init(columns: columns, values: values)
    }

    static func text(of cell: PostgresCell) throws -> String? {
        guard cell.bytes != nil else { return nil }
        do {
            switch cell.dataType {
            case .bool: return try cell.decode(Bool.self) ? "t" : "f"
            case .int2, .int4, .int8: return String(try cell.decode(Int64.self))
            case .uuid: return try cell.decode(String.self).lowercased()
            case .text, .varchar, .bpchar, .name, .json: return try cell.decode(String.self)
            default:
                if cell.format == .text { return try cell.decode(String.self) }
                throw PostgresError(message: "column \(cell.columnName) is of type \(cell.dataType); cast it to text", sqlState: nil)
            }
        } catch let error as PostgresError {
            throw error
        } catch {
            throw PostgresError(message: "column \(cell.columnName) cannot be read: \(error)", sqlState: nil)
        }
    }

    /// Splits a record as PostgreSQL prints it (`ROW(…)::text`: `(1,"a b",,"")`) into its
    /// fields: an empty unquoted field is NULL, `""` the empty string, and inside quotes `""`
    /// and `\x` stand for `"` and `x`.
    static func fields(ofRecord text: String) throws -> [String?] {
        var scalars = Substring(text).unicodeScalars
        guard scalars.first == "(", scalars.last == ")" else {
            throw PostgresError(message: "a record's text is not in parentheses", sqlState: nil)
        }
        scalars = scalars.dropFirst().dropLast()
        var fields: [String?] = []
        var field = String.UnicodeScalarView()
        var quoted = false
        var wasQuoted = false
        var index = scalars.startIndex
        while index < scalars.endIndex {
            let scalar = scalars[index]
            index = scalars.index(after: index)
            if quoted {
                if scalar == "\\", index < scalars.endIndex {
                    field.append(scalars[index])
                    index = scalars.index(after: index)
                } else if scalar == "\"" {
                    if index < scalars.endIndex, scalars[index] == "\"" {
                        field.append("\"")
                        index = scalars.index(after: index)
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(scalar)
                }
            } else if scalar == "\"" {
                quoted = true
                wasQuoted = true
            } else if scalar == "," {
                fields.append(field.isEmpty && !wasQuoted ? nil : String(field))
                field = String.UnicodeScalarView()
                wasQuoted = false
            } else {
                field.append(scalar)
            }
        }
        guard !quoted else { throw PostgresError(message: "a record's text ends inside quotes", sqlState: nil) }
        fields.append(field.isEmpty && !wasQuoted ? nil : String(field))
        return fields
    }
}
