/// RFC 4180 text for one row: a field with a comma, a quote or a line break is quoted, its
/// quotes doubled. (`CSVFileWriter` does the same on bytes, for large files.)
public enum CSVText {
    public static func field(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    public static func row(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",")
    }
}
