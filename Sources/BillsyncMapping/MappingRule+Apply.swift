import BillsyncContracts
import Foundation
import Synchronization

extension MappingRule {
    /// Applies the rule; `lookups` holds the reference tables.
    public func apply(_ value: MappedValue, field: String, lookups: [String: [String: String]] = [:]) throws(MappingRejection) -> MappedValue {
        func reject(_ message: String) -> MappingRejection { MappingRejection(rule: name, field: field, message: message) }
        switch self {
        case .trim:
            guard case let .text(text) = value else { return value }
            // Most values have nothing to trim: checked without Foundation's scan.
            if let first = text.unicodeScalars.first, let last = text.unicodeScalars.last,
               !first.properties.isWhitespace, !last.properties.isWhitespace { return value }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return trimmed.isEmpty ? .absent : .text(trimmed)
        case .upper:
            guard case let .text(text) = value else { return value }
            return .text(text.uppercased())
        case .lower:
            guard case let .text(text) = value else { return value }
            // Most values are lower case already (an email address): kept, not copied.
            if text.utf8.allSatisfy({ $0 < 0x80 && !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) { return value }
            return .text(text.lowercased())
        case .required:
            if case .absent = value { throw reject("is required") }
            if case let .text(text) = value, text.isEmpty { throw reject("is required") }
            return value
        case let .money(scale, rounding):
            guard let text = value.text else { return value }
            guard let decimal = ExactDecimal(parsing: text)?.value else { throw reject("'\(text)' is not an amount") }
            guard let rounded = Self.round(decimal, scale: scale, rounding: rounding) else {
                throw reject("'\(text)' has more than \(scale) decimals")
            }
            return .decimal(rounded)
        case let .number(format):
            guard case let .text(text) = value else { return value }
            switch format.parse(text) {
            case let .success(number): return .text(number)
            case let .failure(problem): throw reject(problem)
            }
        case let .date(formats):
            guard let text = value.text else { return value }
            for format in formats {
                if let date = DatePattern.compiled(format).date(from: text) { return .text(date) }
            }
            throw reject("'\(text)' is not a date in \(formats.joined(separator: " or "))")
        case let .timestamp(formats, timeZone):
            guard let text = value.text else { return value }
            for format in formats {
                if let timestamp = DatePattern.compiled(format).timestamp(from: text, timeZone: timeZone) { return .text(timestamp) }
            }
            throw reject("'\(text)' is not a time in \(formats.joined(separator: " or ")) (\(timeZone))")
        case let .range(minimum, maximum):
            guard let text = value.text else { return value }
            guard let number = Decimal(string: text) else { throw reject("'\(text)' is not a number") }
            if let minimum, number < minimum { throw reject("\(number) is below the minimum \(minimum)") }
            if let maximum, number > maximum { throw reject("\(number) is above the maximum \(maximum)") }
            return value
        case .nmiChecksum:
            guard let text = value.text else { return value }
            guard NationalMeteringIdentifier.isValid(text) else { throw reject("'\(text)' does not have a valid NMI check digit") }
            return value
        case .email:
            guard let text = value.text else { return value }
            guard Self.isEmailAddress(text) else {
                throw reject("'\(text)' is not an email address")
            }
            return value
        case let .oneOf(allowed):
            guard let text = value.text else { return value }
            guard allowed.contains(text) else { throw reject("'\(text)' is not one of \(allowed.joined(separator: ", "))") }
            return value
        case let .maxLength(limit):
            guard let text = value.text else { return value }
            guard text.count <= limit else { throw reject("is \(text.count) characters, at most \(limit) are allowed") }
            return value
        case let .lookup(table):
            guard let text = value.text else { return value }
            guard let found = lookups[table]?[text] else { throw reject("'\(text)' is not in the \(table) table") }
            return .text(found)
        case let .valueMap(map):
            guard let text = value.text else { return value }
            if let found = map[text] ?? map.first(where: { $0.key.caseInsensitiveCompare(text) == .orderedSame })?.value { return .text(found) }
            throw reject("'\(text)' is not one of \(map.keys.sorted().joined(separator: ", "))")
        case let .boolean(trueWords, falseWords):
            guard case let .text(text) = value else { return value }
            if trueWords.contains(where: { $0.caseInsensitiveCompare(text) == .orderedSame }) { return .bool(true) }
            if falseWords.contains(where: { $0.caseInsensitiveCompare(text) == .orderedSame }) { return .bool(false) }
            throw reject("'\(text)' is not one of \((trueWords + falseWords).joined(separator: ", "))")
        case let .pattern(expression):
            guard let text = value.text else { return value }
            guard Self.matches(text, expression) else {
                throw reject("'\(text)' does not match \(expression)")
            }
            return value
        case let .controlCharacters(policy):
            guard case let .text(text) = value, let index = text.unicodeScalars.firstIndex(where: Self.isControl) else { return value }
            switch policy {
            case .remove:
                return .text(String(String.UnicodeScalarView(text.unicodeScalars.filter { !Self.isControl($0) })))
            case .refuse:
                let position = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: index) + 1
                let code = String(format: "U+%04X", text.unicodeScalars[index].value)
                throw reject("has the control character \(code) at character \(position)")
            }
        }
    }

    /// Whether the whole of `text` is `[^@\s]+@[^@\s]+\.[^@\s]+`: one at sign, no white space,
    /// something before the at sign and a point inside what follows it. Checked scalar by scalar
    /// rather than by NSRegularExpression: it runs for every account, and the regular expression
    /// cost a conversion to UTF-16 and a trip through ICU (and its data pages) each time.
    public static func isEmailAddress(_ text: String) -> Bool {
        let scalars = text.unicodeScalars
        guard let at = scalars.firstIndex(of: "@"), at > scalars.startIndex else { return false }
        let domain = scalars[scalars.index(after: at)...]
        guard !domain.contains("@"), !scalars.contains(where: isWhitespace) else { return false }
        return domain.dropFirst().dropLast().contains(".")
    }

    /// Unicode's White_Space, what `\s` means to ICU: answered for ASCII without the property tables.
    private static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII ? scalar == " " || (0x09...0x0D).contains(scalar.value) : scalar.properties.isWhitespace
    }

    /// Whether the whole of `text` matches `expression`; each expression is compiled once.
    static func matches(_ text: String, _ expression: String) -> Bool {
        let regex = compiledExpressions.withLock { cache in
            if let regex = cache[expression] { return regex }
            let regex = try? NSRegularExpression(pattern: "^(?:\(expression))$")
            cache[expression] = regex
            return regex
        }
        guard let regex else { return false }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    private static let compiledExpressions = Mutex<[String: NSRegularExpression?]>([:])

    /// C0 controls but tab, line feed and carriage return (a quoted field's own line breaks: how
    /// CSV carries multi-line text such as an address), DEL, and the C1 controls (what a
    /// Windows-1252 file's €, ’ or “ become when it is wrongly declared ISO-8859-1).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r") || (0x7F...0x9F).contains(scalar.value)
    }

    /// `decimal` to `scale` decimals, or nil when it has more and `rounding` is `.refuse`.
    static func round(_ decimal: Decimal, scale: Int16, rounding: Rounding) -> Decimal? {
        let mode: NSDecimalNumber.RoundingMode
        switch rounding {
        case .halfEven: mode = .bankers
        case .halfUp: mode = .plain
        // Foundation's .down is toward negative infinity; truncation is toward zero.
        case .down: mode = decimal < 0 ? .up : .down
        case .refuse: mode = .plain
        }
        var input = decimal
        var rounded = Decimal()
        NSDecimalRound(&rounded, &input, Int(scale), mode)
        if rounding == .refuse, rounded != decimal { return nil }
        return rounded
    }
}

extension NumberFormat {
    enum Parsed {
        case success(String)
        /// Why the text is not a number in this format.
        case failure(String)
    }

    /// The plain decimal string (`-1234.50`) for a source's text, or why it is not a number in
    /// this format. Thousands separators must group by three, so `1,5` is never read as 15.
    func parse(_ original: String) -> Parsed {
        var text = original.trimmingCharacters(in: .whitespaces)
        var negative = false
        func stripSign() {
            if text.hasPrefix("-") { negative = true; text.removeFirst(); text = text.trimmingCharacters(in: .whitespaces) }
        }
        stripSign()
        for sign in currencySigns.sorted(by: { $0.count > $1.count }) {
            if text.hasPrefix(sign) { text.removeFirst(sign.count); break }
            if text.hasSuffix(sign) { text.removeLast(sign.count); break }
        }
        text = text.trimmingCharacters(in: .whitespaces)
        if !negative { stripSign() }
        let parts = text.split(separator: decimalSeparator, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return .failure("'\(original)' has more than one decimal separator '\(decimalSeparator)'") }
        var integer = String(parts[0])
        if let thousandsSeparator, integer.contains(thousandsSeparator) {
            let groups = integer.split(separator: thousandsSeparator, omittingEmptySubsequences: false)
            guard (1...3).contains(groups[0].count), groups.dropFirst().allSatisfy({ $0.count == 3 }) else {
                return .failure("'\(original)' does not group thousands by three with '\(thousandsSeparator)'")
            }
            integer = groups.joined()
        }
        let plain = (negative ? "-" : "") + integer + (parts.count == 2 ? "." + parts[1] : "")
        guard let digits = ExactDecimal.fractionDigits(of: plain), let decimal = ExactDecimal(parsing: plain)?.value else {
            return .failure("'\(original)' is not a number" + (decimalSeparator == "." ? "" : " with '\(decimalSeparator)' as decimal separator"))
        }
        guard let scale, digits > Int(scale) else { return .success(plain) }
        guard let rounded = MappingRule.round(decimal, scale: scale, rounding: rounding) else {
            return .failure("'\(original)' has more than \(scale) decimals")
        }
        return .success(Self.plainText(rounded, scale: Int(scale)))
    }

    /// A decimal written with exactly `scale` decimals.
    static func plainText(_ value: Decimal, scale: Int) -> String {
        let text = "\(value)"
        guard scale > 0 else { return text }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        return "\(parts[0]).\(fraction.padding(toLength: scale, withPad: "0", startingAt: 0))"
    }
}
