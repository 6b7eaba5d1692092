/// The `format` values billsync asserts, checked exactly as RFC 3339 and RFC 4122 define them,
/// without locale or lenient parsing (`2024-02-30`, `2024-1-5` and a timestamp without an
/// offset are all invalid).
enum Formats {
    static func check(_ format: String, _ value: String) -> Bool {
        switch format {
        case "date": isDate(Substring(value))
        case "date-time": isDateTime(value)
        case "uuid": isUUID(value)
        default: false
        }
    }

    private static func digits(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return Int(text)
    }

    /// `full-date`: YYYY-MM-DD, a real calendar day.
    static func isDate(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = digits(text.prefix(4)),
              let month = digits(text.dropFirst(5).prefix(2)),
              let day = digits(text.dropFirst(8).prefix(2)),
              (1...12).contains(month), day >= 1
        else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= lengths[month - 1]
    }

    /// `date-time`: full-date "T" HH:MM:SS[.fraction] and "Z" or ±HH:MM (T and Z in either case).
    static func isDateTime(_ value: String) -> Bool {
        let text = Substring(value)
        guard text.utf8.count >= 20, isDate(text.prefix(10)) else { return false }
        let rest = text.dropFirst(10)
        guard let separator = rest.first, separator == "T" || separator == "t" else { return false }
        let time = rest.dropFirst()
        let bytes = Array(time.utf8)
        guard bytes.count >= 9, bytes[2] == UInt8(ascii: ":"), bytes[5] == UInt8(ascii: ":"),
              let hour = digits(time.prefix(2)), let minute = digits(time.dropFirst(3).prefix(2)),
              let second = digits(time.dropFirst(6).prefix(2)),
              hour <= 23, minute <= 59, second <= 60
        else { return false }
        var zone = time.dropFirst(8)
        if zone.first == "." {
            let fraction = zone.dropFirst().prefix { $0.isASCII && $0.isNumber }
            guard !fraction.isEmpty else { return false }
            zone = zone.dropFirst(1 + fraction.count)
        }
        if zone == "Z" || zone == "z" { return true }
        let zoneBytes = Array(zone.utf8)
        guard zoneBytes.count == 6, zoneBytes[0] == UInt8(ascii: "+") || zoneBytes[0] == UInt8(ascii: "-"),
              zoneBytes[3] == UInt8(ascii: ":"),
              let offsetHour = digits(zone.dropFirst().prefix(2)), let offsetMinute = digits(zone.dropFirst(4).prefix(2))
        else { return false }
        return offsetHour <= 23 && offsetMinute <= 59
    }

    /// 8-4-4-4-12 hexadecimal digits.
    static func isUUID(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte) else { return false }
            }
        }
        return true
    }
}
