/// The `format` values billsync asserts, checked exactly as RFC 3339 and RFC 4122 define them,
/// without locale or lenient parsing (`2024-02-30`, `2024-1-5` and a timestamp without an
/// offset are all invalid). Read over the UTF-8 bytes in place: every message carries a few
/// timestamps and ids, and going through `Character`s and arrays cost a visible share of
/// validating it.
enum Formats {
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
            case .dateTime: isDateTime(bytes)
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

    /// `date-time`: full-date "T" HH:MM:SS[.fraction] and "Z" or ±HH:MM (T and Z in either case).
    private static func isDateTime(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 20, isDate(bytes, at: 0), bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
              let hour = number(bytes, at: 11, count: 2), let minute = number(bytes, at: 14, count: 2),
              let second = number(bytes, at: 17, count: 2), hour <= 23, minute <= 59, second <= 60
        else { return false }
        var zone = 19
        if bytes[zone] == UInt8(ascii: ".") {
            var end = zone + 1
            while end < bytes.count, bytes[end] &- UInt8(ascii: "0") < 10 { end += 1 }
            guard end > zone + 1 else { return false }
            zone = end
        }
        let rest = bytes.count - zone
        if rest == 1 { return bytes[zone] == UInt8(ascii: "Z") || bytes[zone] == UInt8(ascii: "z") }
        guard rest == 6, bytes[zone] == UInt8(ascii: "+") || bytes[zone] == UInt8(ascii: "-"), bytes[zone + 3] == UInt8(ascii: ":"),
              let offsetHour = number(bytes, at: zone + 1, count: 2), let offsetMinute = number(bytes, at: zone + 4, count: 2)
        else { return false }
        return offsetHour <= 23 && offsetMinute <= 59
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
