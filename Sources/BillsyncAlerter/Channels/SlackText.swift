/// Text for Slack's Block Kit, within its limits. Lengths are counted in UTF-16 code units,
/// never fewer than the characters Slack counts, so a text that fits here fits there.
enum SlackText {
    /// Block Kit's limits (api.slack.com/reference/block-kit).
    static let maximumBlocks = 50
    static let sectionLimit = 3_000
    static let headerLimit = 150
    static let fieldLimit = 2_000
    static let maximumFields = 10
    static let contextElementLimit = 3_000
    static let maximumContextElements = 10
    /// The `text` fallback shown in notifications; Slack truncates long ones itself.
    static let fallbackLimit = 3_000

    static let ellipsis = "…"

    /// `raw` as mrkdwn: `&`, `<` and `>` escaped (Slack's control characters), cut to at most
    /// `limit` with "…" when longer, never inside an escape.
    static func mrkdwn(_ raw: String, limit: Int) -> String {
        cut(raw, limit: limit) { character in
            switch character {
            case "&": "&amp;"
            case "<": "&lt;"
            case ">": "&gt;"
            default: String(character)
            }
        }
    }

    /// `raw` as plain_text (no escaping), cut to at most `limit` with "…".
    static func plain(_ raw: String, limit: Int) -> String {
        cut(raw, limit: limit) { String($0) }
    }

    static func length(_ text: String) -> Int { text.utf16.count }

    private static func cut(_ raw: String, limit: Int, escape: (Character) -> String) -> String {
        let pieces = raw.map(escape)
        if pieces.reduce(0, { $0 + length($1) }) <= limit { return pieces.joined() }
        var kept = ""
        var used = length(ellipsis)
        for piece in pieces {
            guard used + length(piece) <= limit else { break }
            kept += piece
            used += length(piece)
        }
        return kept + ellipsis
    }
}
