import Foundation
import PostgresNIO

/// A statement parameter ($1, $2, …), always bound, never spliced into the SQL. Typed values go
/// in postgres-nio's binary encoding; `untyped` goes as text of no declared type, so the server
/// infers its type from where it is used (as libpq's `PQexecParams` without types does): a
/// watermark compared with a `timestamptz` column is read as a `timestamptz`.
public enum PostgresValue: Sendable, Hashable {
    case text(String)
    case numeric(Decimal)
    case boolean(Bool)
    case untyped(String)
    case null
}

extension PostgresBindings {
    init(_ values: [PostgresValue]) throws {
        self.init(capacity: values.count)
        for value in values {
            switch value {
            case let .text(text): append(text)
            // postgres-nio's numeric encoding traps on NaN: that one goes as text.
            case let .numeric(decimal) where decimal.isNaN: append(UntypedText(text: "NaN"))
            case let .numeric(decimal): try append(decimal)
            case let .boolean(bool): append(bool)
            case let .untyped(text): append(UntypedText(text: text))
            case .null: appendNull()
            }
        }
    }
}

/// Text with no declared type (OID 0): the server infers it.
struct UntypedText: PostgresNonThrowingEncodable {
    let text: String
    static var psqlType: PostgresDataType { .null }
    static var psqlFormat: PostgresFormat { .text }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeString(text)
    }
}
