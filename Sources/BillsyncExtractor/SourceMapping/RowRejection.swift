/// Why one row of a file was not published: where it is (file, line, column) and what is wrong.
/// It is dead-lettered with these; the rest of the file goes on.
public struct RowRejection: Error, Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int
    /// 1-based column of the offending field (0 when the row as a whole is malformed).
    public let column: Int
    public let field: String
    public let reason: String

    public init(file: String, line: Int, column: Int, field: String, reason: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(file) line \(line), column \(column) (\(field)): \(reason)" }
}

