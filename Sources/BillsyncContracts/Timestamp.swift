import BillsyncJSON
import Foundation

/// An RFC 3339 instant with its offset, kept as written so a message re-encodes byte for byte.
public struct Timestamp: Codable, Sendable, Hashable, CustomStringConvertible {
    public let text: String
    /// The instant, to the millisecond.
    public let date: Date

    public init(_ date: Date) {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        self.date = Date(timeIntervalSince1970: milliseconds / 1000)
        self.text = Self.writer.format(self.date)
    }

    public static var now: Timestamp { Timestamp(Date()) }

    /// nil unless `text` is an RFC 3339 date-time with an offset.
    public init?(parsing text: String) {
        guard let date = Self.reader(text) else { return nil }
        self.text = text
        self.date = date
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = Timestamp(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not an RFC 3339 timestamp")
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    public var description: String { text }

    /// Two timestamps are the same when they are written the same (`date` is derived from it).
    public static func == (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.text == rhs.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }

    private static let writer = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)

    /// Read by hand, not by `Date.ISO8601FormatStyle` (two parses and an upper-cased copy per
    /// timestamp, and every message carries two or three).
    private static func reader(_ text: String) -> Date? {
        guard let parts = Formats.dateTime(text) else { return nil }
        return Date(timeIntervalSince1970: (parts.secondsSince1970 * 1000).rounded() / 1000)
    }
}
