import Foundation

/// How the channels write a time: ISO 8601 in UTC, to the second (`2026-03-01T12:00:00Z`).
enum AlertTime {
    static func iso8601(_ date: Date) -> String {
        date.ISO8601Format()
    }
}
