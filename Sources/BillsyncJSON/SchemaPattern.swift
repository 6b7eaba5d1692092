import Foundation

/// A schema's `pattern`, compiled once: an ECMA-262 regular expression as JSON Schema specifies
/// (a match anywhere unless anchored; `$` only at the very end, not before a final line feed).
///
/// The patterns contracts use (character classes, `\d \s \w`, groups, alternation, `? * + {n,m}`,
/// `^` and `$` around the whole) become a position automaton of at most 64 positions, matched
/// scalar by scalar with bit sets: no allocation, no backtracking, and no trip through NSString.
/// Anything else (lookaround, back references, an anchor inside, more positions) is matched by
/// NSRegularExpression instead, so every pattern is still checked.
///
/// `@unchecked Sendable`: immutable once built, and NSRegularExpression matching is thread-safe.
final class SchemaPattern: @unchecked Sendable {
    let source: String
    private let automaton: PositionAutomaton?
    private let expression: NSRegularExpression?

    init(_ source: String) throws {
        self.source = source
        var parser = PatternParser(source)
        if let automaton = try? parser.automaton() {
            self.automaton = automaton
            expression = nil
        } else {
            automaton = nil
            expression = try NSRegularExpression(pattern: source)
        }
    }

    /// Whether the automaton (rather than NSRegularExpression) matches this pattern.
    var isCompiled: Bool { automaton != nil }

    func matches(_ string: String) -> Bool {
        if let automaton { return automaton.matches(string) }
        return expression!.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) != nil
    }
}

/// A set of Unicode scalars: ranges, possibly negated.
struct ScalarClass: Sendable {
    var ranges: [ClosedRange<UInt32>]
    var negated = false

    func contains(_ value: UInt32) -> Bool {
        ranges.contains { $0.contains(value) } != negated
    }

    static let digit = ScalarClass(ranges: [0x30...0x39])
    static let word = ScalarClass(ranges: [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    /// ECMA-262's WhiteSpace and LineTerminator.
    static let space = ScalarClass(ranges: [0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A,
                                            0x2028...0x2029, 0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF])
    static let anyButLineTerminator = ScalarClass(ranges: [0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029], negated: true)
}

/// Glushkov's position automaton: one state per character class occurrence, no empty moves.
struct PositionAutomaton: Sendable {
    static let maximumPositions = 64

    var classes: [ScalarClass] = []
    /// For each position, the positions that may come next.
    var follow: [UInt64] = []
    var first: UInt64 = 0
    var last: UInt64 = 0
    var nullable = false
    var anchoredStart = true
    var anchoredEnd = true
    /// For each ASCII scalar, the positions whose class contains it.
    var ascii: [UInt64] = []

    mutating func finish() {
        ascii = (0..<128).map { scalar in
            var mask: UInt64 = 0
            for (position, scalarClass) in classes.enumerated() where scalarClass.contains(UInt32(scalar)) { mask |= 1 << UInt64(position) }
            return mask
        }
    }

    func mask(_ value: UInt32) -> UInt64 {
        if value < 128 { return ascii[Int(value)] }
        var mask: UInt64 = 0
        for (position, scalarClass) in classes.enumerated() where scalarClass.contains(value) { mask |= 1 << UInt64(position) }
        return mask
    }

    func matches(_ string: String) -> Bool {
        if nullable, !anchoredStart || !anchoredEnd || string.isEmpty { return true }
        var state: UInt64 = 0
        var atStart = true
        for scalar in string.unicodeScalars {
            var next: UInt64 = atStart || !anchoredStart ? first : 0
            var reached = state
            while reached != 0 {
                next |= follow[reached.trailingZeroBitCount]
                reached &= reached - 1
            }
            state = next & mask(scalar.value)
            atStart = false
            if !anchoredEnd, state & last != 0 { return true }
            if state == 0, anchoredStart { return false }
        }
        return state & last != 0
    }
}

/// Reads the supported subset of ECMA-262 syntax into a `PositionAutomaton`; throws on anything else.
struct PatternParser {
    struct Unsupported: Error {}

    indirect enum Node {
        case scalars(ScalarClass)
        case sequence([Node])
        case alternatives([Node])
        case repeated(Node, minimum: Int, maximum: Int?)
    }

    private let scalars: [Unicode.Scalar]
    private var position = 0

    init(_ source: String) {
        scalars = Array(source.unicodeScalars)
    }

    mutating func automaton() throws(Unsupported) -> PositionAutomaton {
        var automaton = PositionAutomaton()
        var body = scalars[...]
        automaton.anchoredStart = body.first == "^"
        if automaton.anchoredStart { body = body.dropFirst() }
        // A `$` at the end anchors it unless it is escaped (an odd number of backslashes before it).
        let backslashes = body.dropLast().reversed().prefix { $0 == "\\" }.count
        automaton.anchoredEnd = body.last == "$" && backslashes % 2 == 0
        if automaton.anchoredEnd { body = body.dropLast() }
        var parser = PatternParser(String(String.UnicodeScalarView(body)))
        let node = try parser.alternatives()
        guard parser.position == parser.scalars.count else { throw Unsupported() }
        // `^a|b$` anchors each side differently: not this automaton's business.
        if case .alternatives = node, automaton.anchoredStart || automaton.anchoredEnd { throw Unsupported() }
        let result = try automaton.build(node)
        automaton.first = result.first
        automaton.last = result.last
        automaton.nullable = result.nullable
        automaton.finish()
        return automaton
    }

    private var current: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

    private mutating func alternatives() throws(Unsupported) -> Node {
        var branches = [try sequence()]
        while current == "|" {
            position += 1
            branches.append(try sequence())
        }
        return branches.count == 1 ? branches[0] : .alternatives(branches)
    }

    private mutating func sequence() throws(Unsupported) -> Node {
        var items: [Node] = []
        while let scalar = current, scalar != "|", scalar != ")" {
            var atom = try self.atom()
            if let (minimum, maximum) = try quantifier() { atom = .repeated(atom, minimum: minimum, maximum: maximum) }
            items.append(atom)
        }
        return .sequence(items)
    }

    private mutating func atom() throws(Unsupported) -> Node {
        guard let scalar = current else { throw Unsupported() }
        position += 1
        switch scalar {
        case "(":
            if current == "?" {
                guard position + 1 < scalars.count, scalars[position + 1] == ":" else { throw Unsupported() }
                position += 2
            }
            let inner = try alternatives()
            guard current == ")" else { throw Unsupported() }
            position += 1
            return inner
        case "[": return .scalars(try bracket())
        case ".": return .scalars(.anyButLineTerminator)
        case "\\": return .scalars(try escape(inClass: false))
        case "^", "$", ")", "]", "{", "}", "*", "+", "?": throw Unsupported()
        default: return .scalars(ScalarClass(ranges: [scalar.value...scalar.value]))
        }
    }

    /// `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}` (a lazy `?` after one matches the same strings).
    private mutating func quantifier() throws(Unsupported) -> (Int, Int?)? {
        guard let scalar = current else { return nil }
        var bounds: (Int, Int?)
        switch scalar {
        case "?": bounds = (0, 1); position += 1
        case "*": bounds = (0, nil); position += 1
        case "+": bounds = (1, nil); position += 1
        case "{":
            position += 1
            let minimum = number()
            guard let minimum else { throw Unsupported() }
            var maximum: Int? = minimum
            if current == "," {
                position += 1
                maximum = number()
            }
            guard current == "}", maximum.map({ $0 >= minimum }) ?? true else { throw Unsupported() }
            position += 1
            bounds = (minimum, maximum)
        default: return nil
        }
        if current == "?" { position += 1 }
        return bounds
    }

    private mutating func number() -> Int? {
        var value: Int?
        while let scalar = current, let digit = Int(String(scalar)), scalar.isASCII, value ?? 0 < 1_000 {
            value = (value ?? 0) * 10 + digit
            position += 1
        }
        return value
    }

    private mutating func bracket() throws(Unsupported) -> ScalarClass {
        var result = ScalarClass(ranges: [])
        if current == "^" {
            result.negated = true
            position += 1
        }
        while let scalar = current, scalar != "]" {
            position += 1
            var low: UInt32
            if scalar == "\\" {
                let escaped = try escape(inClass: true)
                guard escaped.ranges.count == 1, escaped.ranges[0].count == 1, !escaped.negated else {
                    guard !escaped.negated else { throw Unsupported() }
                    result.ranges += escaped.ranges
                    continue
                }
                low = escaped.ranges[0].lowerBound
            } else {
                low = scalar.value
            }
            if current == "-", position + 1 < scalars.count, scalars[position + 1] != "]" {
                position += 1
                guard let next = current else { throw Unsupported() }
                position += 1
                var high = next.value
                if next == "\\" {
                    let escaped = try escape(inClass: true)
                    guard escaped.ranges.count == 1, escaped.ranges[0].count == 1, !escaped.negated else { throw Unsupported() }
                    high = escaped.ranges[0].lowerBound
                }
                guard low <= high else { throw Unsupported() }
                result.ranges.append(low...high)
            } else {
                result.ranges.append(low...low)
            }
        }
        guard current == "]" else { throw Unsupported() }
        position += 1
        return result
    }

    /// After a backslash: a class escape or an escaped character.
    private mutating func escape(inClass: Bool) throws(Unsupported) -> ScalarClass {
        guard let scalar = current else { throw Unsupported() }
        position += 1
        func one(_ value: UInt32) -> ScalarClass { ScalarClass(ranges: [value...value]) }
        switch scalar {
        case "d": return .digit
        case "s": return .space
        case "w": return .word
        case "D": var negated = ScalarClass.digit; negated.negated = true; return negated
        case "S": var negated = ScalarClass.space; negated.negated = true; return negated
        case "W": var negated = ScalarClass.word; negated.negated = true; return negated
        case "t": return one(0x09)
        case "n": return one(0x0A)
        case "v": return one(0x0B)
        case "f": return one(0x0C)
        case "r": return one(0x0D)
        case "u":
            guard position + 4 <= scalars.count, let value = UInt32(String(String.UnicodeScalarView(scalars[position..<position + 4])), radix: 16)
            else { throw Unsupported() }
            position += 4
            return one(value)
        default:
            // Only syntax characters may be escaped as themselves (`\b`, `\1`, `\k` mean more).
            guard "^$\\.*+?()[]{}|/-".unicodeScalars.contains(scalar) else { throw Unsupported() }
            return one(scalar.value)
        }
    }
}

extension PositionAutomaton {
    /// Adds the positions of `node`; answers whether it matches the empty string and its first
    /// and last positions. Repetitions are unrolled, each copy with positions of its own.
    mutating func build(_ node: PatternParser.Node) throws(PatternParser.Unsupported) -> (nullable: Bool, first: UInt64, last: UInt64) {
        switch node {
        case let .scalars(scalarClass):
            guard classes.count < Self.maximumPositions else { throw PatternParser.Unsupported() }
            let bit: UInt64 = 1 << UInt64(classes.count)
            classes.append(scalarClass)
            follow.append(0)
            return (false, bit, bit)
        case let .sequence(items):
            var result: (nullable: Bool, first: UInt64, last: UInt64) = (true, 0, 0)
            for item in items {
                let next = try build(item)
                link(result.last, to: next.first)
                result = (result.nullable && next.nullable, result.nullable ? result.first | next.first : result.first,
                          next.nullable ? result.last | next.last : next.last)
            }
            return result
        case let .alternatives(branches):
            var result: (nullable: Bool, first: UInt64, last: UInt64) = (false, 0, 0)
            for branch in branches {
                let next = try build(branch)
                result = (result.nullable || next.nullable, result.first | next.first, result.last | next.last)
            }
            return result
        case let .repeated(inner, minimum, maximum):
            var copies = Array(repeating: inner, count: minimum)
            if let maximum {
                copies += Array(repeating: PatternParser.Node.repeated(inner, minimum: 0, maximum: 1), count: maximum - minimum)
                if minimum == 0, maximum == 1 {
                    let result = try build(inner)
                    return (true, result.first, result.last)
                }
                return try build(.sequence(copies))
            }
            // Unbounded: the required copies, then one that may repeat.
            let required = try build(.sequence(copies))
            let star = try build(inner)
            link(star.last, to: star.first)
            link(required.last, to: star.first)
            return (required.nullable, required.nullable ? required.first | star.first : required.first, required.last | star.last)
        }
    }

    private mutating func link(_ from: UInt64, to: UInt64) {
        var from = from
        while from != 0 {
            follow[from.trailingZeroBitCount] |= to
            from &= from - 1
        }
    }
}
