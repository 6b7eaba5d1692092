/// A plain-text table with a header row, columns padded to their widest cell, the columns of
/// counts right-aligned.
public struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    let numericColumns: Set<Int>

    public init(_ header: [String], numericColumns: Set<Int> = []) {
        self.header = header
        self.numericColumns = numericColumns
    }

    public mutating func add(_ row: [String]) { rows.append(row) }

    public func rendered(indent: String = "") -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        func line(_ cells: [String], isHeader: Bool) -> String {
            let padded = cells.enumerated().map { column, cell in
                let gap = String(repeating: " ", count: max(0, widths[column] - cell.count))
                let numeric = !isHeader && numericColumns.contains(column)
                return numeric ? gap + cell : cell + gap
            }
            return indent + padded.joined(separator: "  ").trimmingTrailingSpaces()
        }
        var lines = [line(header, isHeader: true)]
        lines.append(indent + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        lines += rows.map { line($0, isHeader: false) }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
