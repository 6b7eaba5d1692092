/// When the extractor runs: once (a backfill, a test), every interval (seed 000 syncs every
/// four hours), or continuously (polling with a short pause).
public enum ExtractionSchedule: Sendable, Equatable, CustomStringConvertible {
    case once
    case every(Duration)
    case continuously(pause: Duration)

    /// `once`, `every 4h`, `every 30m`, `continuous`.
    public init?(parsing text: String) {
        let words = text.lowercased().split(separator: " ")
        switch words.first {
        case "once": self = .once
        case "continuous", "continuously": self = .continuously(pause: .seconds(10))
        case "every":
            guard words.count == 2, let interval = Self.duration(String(words[1])) else { return nil }
            self = .every(interval)
        default: return nil
        }
    }

    static func duration(_ text: String) -> Duration? {
        for (unit, seconds) in [("h", 3_600), ("m", 60), ("s", 1)] where text.hasSuffix(unit) {
            if let value = Int(text.dropLast()), value > 0 { return .seconds(value * seconds) }
        }
        return nil
    }

    /// The pause after a run, or nil to stop.
    public var pause: Duration? {
        switch self {
        case .once: nil
        case let .every(interval): interval
        case let .continuously(pause): pause
        }
    }

    public var description: String {
        switch self {
        case .once: "once"
        case let .every(interval): "every \(interval)"
        case .continuously: "continuously"
        }
    }
}
