/// The `format` values billsync asserts, checked exactly as RFC 3339 and RFC 4122 define them,
/// without locale or lenient parsing (`2024-02-30`, `2024-1-5` and a timestamp without an
/// offset are all invalid). Read over the UTF-8 bytes in place: every message carries a few
/// timestamps and ids, and going through `Character`s and arrays cost a visible share of
/// validating it.
public enum Formats {
    enum Kind: String, Sendable {
        case date
        case dateTime = "date-time"
        case uuid
    }

    static func check(_ format: Kind, _ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in
            switch format {
            case .date: bytes.count == 10 && isDate(bytes, at: 0)
            case .dateTime: dateTime(bytes) != nil
            case .uuid: isUUID(bytes)
            }
        }
    }

    /// The decimal number of `count` digits at `start`, or nil if any is not a digit.
    private static func number(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, count: Int) -> Int? {
        var value = 0
        for index in start..<(start + count) {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }

    /// `full-date` at `start`: YYYY-MM-DD, a real calendar day (the caller checked there are 10 bytes).
    private static func isDate(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Bool {
        guard bytes[start + 4] == UInt8(ascii: "-"), bytes[start + 7] == UInt8(ascii: "-"),
              let year = number(bytes, at: start, count: 4), let month = number(bytes, at: start + 5, count: 2),
              let day = number(bytes, at: start + 8, count: 2), (1...12).contains(month), day >= 1
        else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let length = switch month {
        case 2: leap ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
        return day <= length
    }

    /// An RFC 3339 `date-time`'s parts: what `Timestamp` reads its instant from.
    public struct DateTime: Sendable, Equatable {
        public var year, month, day, hour, minute, second: Int
        /// The fraction of a second, 0 ..< 1.
        public var fraction: Double
        /// East of UTC, in seconds.
        public var offsetSeconds: Int

        /// Seconds since 1970-01-01T00:00:00Z (a leap second counts as the next minute's first).
        public var secondsSince1970: Double {
            // Days from the civil date (H. Hinnant's algorithm, proleptic Gregorian).
            let y = month <= 2 ? year - 1 : year
            let era = (y >= 0 ? y : y - 399) / 400
            let yearOfEra = y - era * 400
            let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
            let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
            let days = era * 146_097 + dayOfEra - 719_468
            return Double(days * 86_400 + hour * 3_600 + minute * 60 + second - offsetSeconds) + fraction
        }
    }

    /// `date-time`: full-date "T" HH:MM:SS[.fraction] and "Z" or ±HH:MM (T and Z in either case).
    public static func dateTime(_ text: String) -> DateTime? {
        var text = text
        return text.withUTF8 { dateTime($0) }
    }

    private static func dateTime(_ bytes: UnsafeBufferPointer<UInt8>) -> DateTime? {
        guard bytes.count >= 20, isDate(bytes, at: 0), bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
              let hour = number(bytes, at: 11, count: 2), let minute = number(bytes, at: 14, count: 2),
              let second = number(bytes, at: 17, count: 2), hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var zone = 19
        var fraction = 0.0
        if bytes[zone] == UInt8(ascii: ".") {
            var end = zone + 1
            var scale = 0.1
            while end < bytes.count, bytes[end] &- UInt8(ascii: "0") < 10 {
                fraction += Double(bytes[end] &- UInt8(ascii: "0")) * scale
                scale /= 10
                end += 1
            }
            guard end > zone + 1 else { return nil }
            zone = end
        }
        let rest = bytes.count - zone
        var offset = 0
        if rest == 1 {
            guard bytes[zone] == UInt8(ascii: "Z") || bytes[zone] == UInt8(ascii: "z") else { return nil }
        } else {
            guard rest == 6, bytes[zone] == UInt8(ascii: "+") || bytes[zone] == UInt8(ascii: "-"), bytes[zone + 3] == UInt8(ascii: ":"),
                  let offsetHour = number(bytes, at: zone + 1, count: 2), let offsetMinute = number(bytes, at: zone + 4, count: 2),
                  offsetHour <= 23, offsetMinute <= 59
            else { return nil }
            offset = (offsetHour * 3_600 + offsetMinute * 60) * (bytes[zone] == UInt8(ascii: "-") ? -1 : 1)
        }
        return DateTime(year: number(bytes, at: 0, count: 4)!, month: number(bytes, at: 5, count: 2)!, day: number(bytes, at: 8, count: 2)!,
                        hour: hour, minute: minute, second: second, fraction: fraction, offsetSeconds: offset)
    }

    /// 8-4-4-4-12 hexadecimal digits.
    private static func isUUID(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard byte &- UInt8(ascii: "0") < 10 || (byte | 0x20) &- UInt8(ascii: "a") < 6 else { return false }
            }
        }
        return true
    }
}
