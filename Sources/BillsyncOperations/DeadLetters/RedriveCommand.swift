/// The operator tool's command that sends a group of dead letters back to their stage. The one
/// place it is spelled: the sync report's dead-letter groups and the dead-letter alerts print it.
public enum RedriveCommand {
    /// `billsync dlq redrive --stage <stage> --code <code> [--field <field>]`, each value quoted
    /// for a POSIX shell when it holds anything but ASCII letters, digits and `._/:@%+=,-`. No
    /// `--field` when the field is nil, empty or `-` (how a table shows "no field").
    /// With `key`, only that business key's dead letters.
    public static func `for`(stage: String, code: String, field: String?, key: String? = nil) -> String {
        var words = ["billsync", "dlq", "redrive", "--stage", quoted(stage), "--code", quoted(code)]
        if let field, !field.isEmpty, field != "-" { words += ["--field", quoted(field)] }
        if let key { words += ["--key", quoted(key)] }
        return words.joined(separator: " ")
    }

    /// A word a shell reads back as `value`: as it is when it is safe, else in single quotes.
    static func quoted(_ value: String) -> String {
        let safe = !value.isEmpty && value.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "._/:@%+=,-".unicodeScalars.contains(scalar))
        }
        return safe ? value : "'" + value.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}
