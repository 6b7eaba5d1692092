import Foundation
import Synchronization

/// A date or time pattern as exports write them: `yyyy`, `MM`/`M`, `dd`/`d`, `HH`/`H`, `mm`,
/// `ss`, `xxx` (an offset, `+10:00` or `Z`), anything else literal. Two letters mean exactly two
/// digits, one letter one or two. Every value is checked against the calendar: `30/02/2026` is
/// not a date.
public struct DatePattern: Sendable, Equatable {
    enum Token: Equatable {
        case year, month(fixed: Bool), day(fixed: Bool), hour(fixed: Bool), minute, second, offset
        case literal(Character)
    }

    let tokens: [Token]
    public let text: String

    public init(_ pattern: String) {
        text = pattern
        var tokens: [Token] = []
        let characters = Array(pattern)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            var run = 1
            while index + run < characters.count, characters[index + run] == character { run += 1 }
            switch (character, run) {
            case ("y", 4): tokens.append(.year)
            case ("M", 1), ("M", 2): tokens.append(.month(fixed: run == 2))
            case ("d", 1), ("d", 2): tokens.append(.day(fixed: run == 2))
            case ("H", 1), ("H", 2): tokens.append(.hour(fixed: run == 2))
            case ("m", 2): tokens.append(.minute)
            case ("s", 2): tokens.append(.second)
            case ("x", 3), ("X", 3): tokens.append(.offset)
            default: tokens += Array(repeating: Token.literal(character), count: run)
            }
            index += run
        }
        self.tokens = tokens
    }

    /// The pattern for `text`, tokenized once per process: rules apply it to every value.
    public static func compiled(_ text: String) -> DatePattern {
        cache.withLock { cache in
            if let pattern = cache[text] { return pattern }
            let pattern = DatePattern(text)
            cache[text] = pattern
            return pattern
        }
    }

    private static let cache = Mutex<[String: DatePattern]>([:])

    /// Whether the pattern is one this reader understands (every letter is a known field).
    public var isValid: Bool {
        !tokens.contains { if case let .literal(character) = $0 { character.isLetter } else { false } }
            && tokens.contains(.year)
    }

    public var hasTime: Bool { tokens.contains { if case .hour = $0 { true } else { false } } }

    struct Fields {
        var year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0
        var offsetSeconds: Int?
    }

    /// Read over the text's UTF-8 bytes: the pattern's fields are ASCII digits, and a rule
    /// applies it to a field of every record.
    func fields(of text: String) -> Fields? {
        var text = text
        return text.withUTF8 { bytes in fields(of: bytes) }
    }

    private func fields(of bytes: UnsafeBufferPointer<UInt8>) -> Fields? {
        var position = 0
        var fields = Fields()
        func digits(_ minimum: Int, _ maximum: Int) -> Int? {
            var count = 0
            var value = 0
            while count < maximum, position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 {
                value = value * 10 + Int(bytes[position] &- UInt8(ascii: "0"))
                position += 1
                count += 1
            }
            return count >= minimum ? value : nil
        }
        func skip(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }
        for token in tokens {
            switch token {
            case .year: guard let value = digits(4, 4) else { return nil }; fields.year = value
            case let .month(fixed): guard let value = digits(fixed ? 2 : 1, 2) else { return nil }; fields.month = value
            case let .day(fixed): guard let value = digits(fixed ? 2 : 1, 2) else { return nil }; fields.day = value
            case let .hour(fixed): guard let value = digits(fixed ? 2 : 1, 2) else { return nil }; fields.hour = value
            case .minute: guard let value = digits(2, 2) else { return nil }; fields.minute = value
            case .second: guard let value = digits(2, 2) else { return nil }; fields.second = value
            case .offset:
                if skip(UInt8(ascii: "Z")) {
                    fields.offsetSeconds = 0
                } else {
                    let sign = skip(UInt8(ascii: "-")) ? -1 : 1
                    guard sign == -1 || skip(UInt8(ascii: "+")) else { return nil }
                    guard let hours = digits(2, 2), skip(UInt8(ascii: ":")), let minutes = digits(2, 2), hours <= 14, minutes < 60 else { return nil }
                    fields.offsetSeconds = sign * (hours * 3600 + minutes * 60)
                }
            case let .literal(character):
                for byte in character.utf8 {
                    guard skip(byte) else { return nil }
                }
            }
        }
        guard position == bytes.count, (1...12).contains(fields.month), fields.day >= 1,
              fields.day <= Self.daysIn(month: fields.month, year: fields.year),
              fields.hour < 24, fields.minute < 60, fields.second < 60 else { return nil }
        return fields
    }

    static func daysIn(month: Int, year: Int) -> Int {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }

    /// The ISO date (`2026-12-31`) the text names, or nil.
    public func date(from text: String) -> String? {
        guard let fields = fields(of: text) else { return nil }
        // Written digit by digit into the string's own storage: one allocation-free small string.
        return String(unsafeUninitializedCapacity: 10) { buffer in
            var position = 0
            func put(_ value: Int, _ width: Int) {
                var divisor = 1
                for _ in 1..<width { divisor *= 10 }
                while divisor > 0 {
                    buffer[position] = UInt8(ascii: "0") + UInt8(value / divisor % 10)
                    position += 1
                    divisor /= 10
                }
            }
            put(fields.year, 4)
            buffer[position] = UInt8(ascii: "-"); position += 1
            put(fields.month, 2)
            buffer[position] = UInt8(ascii: "-"); position += 1
            put(fields.day, 2)
            return position
        }
    }

    /// The RFC 3339 timestamp the text names, read in `timeZone` when it has no offset of its
    /// own. A local time that does not exist (skipped by a daylight-saving change) is nil.
    public func timestamp(from text: String, timeZone identifier: String) -> String? {
        guard let fields = fields(of: text) else { return nil }
        let offset: Int
        if let own = fields.offsetSeconds {
            offset = own
        } else {
            guard let zone = TimeZone(identifier: identifier) else { return nil }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let components = DateComponents(year: fields.year, month: fields.month, day: fields.day,
                                            hour: fields.hour, minute: fields.minute, second: fields.second)
            guard let instant = calendar.date(from: components) else { return nil }
            let back = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: instant)
            guard back.hour == fields.hour, back.minute == fields.minute, back.day == fields.day else { return nil }
            offset = zone.secondsFromGMT(for: instant)
        }
        let sign = offset < 0 ? "-" : "+"
        return Self.padded(fields.year, 4) + "-" + Self.padded(fields.month, 2) + "-" + Self.padded(fields.day, 2)
            + "T" + Self.padded(fields.hour, 2) + ":" + Self.padded(fields.minute, 2) + ":" + Self.padded(fields.second, 2)
            + sign + Self.padded(abs(offset) / 3600, 2) + ":" + Self.padded(abs(offset) % 3600 / 60, 2)
    }

    /// `value` with leading zeros to `width` digits (`String(format:)` goes through sprintf, per field of every record).
    static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
