/// The operator tool's command that sends one dead-letter group back to where it failed: the
/// same string in alerts and reports, so what ops copy is what the tool accepts.
public enum RedriveCommand {
    public static func `for`(stage: String, code: String, field: String?) -> String {
        var command = "billsync dlq redrive --stage \(quoted(stage)) --code \(quoted(code))"
        if let field, !field.isEmpty, field != "-" { command += " --field \(quoted(field))" }
        return command
    }

    /// Shell-safe: plain words stay as they are, anything else is single-quoted.
    static func quoted(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "._-/:".contains($0) }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
