/// A measured rate: how many messages in how long.
public struct ThroughputFigure: Sendable, Codable, Equatable {
    public let messages: Int
    public let bytes: Int
    public let seconds: Double

    public init(messages: Int, bytes: Int, seconds: Double) {
        self.messages = messages
        self.bytes = bytes
        self.seconds = seconds
    }

    public static let zero = ThroughputFigure(messages: 0, bytes: 0, seconds: 0)

    public var messagesPerSecond: Double { seconds > 0 ? Double(messages) / seconds : 0 }
    public var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds / 1_000_000 : 0 }
}

/// One comparison: billsync's figure against a reference, with the ratio the target applies to.
public struct BenchmarkComparison: Sendable, Codable, Equatable {
    public let name: String
    public let measured: ThroughputFigure
    public let reference: ThroughputFigure
    public let referenceName: String
    /// The lowest acceptable `ratio`.
    public let target: Double

    public init(name: String, measured: ThroughputFigure, reference: ThroughputFigure, referenceName: String, target: Double) {
        self.name = name
        self.measured = measured
        self.reference = reference
        self.referenceName = referenceName
        self.target = target
    }

    public var ratio: Double {
        reference.messagesPerSecond > 0 ? measured.messagesPerSecond / reference.messagesPerSecond : 0
    }

    public var meetsTarget: Bool { ratio >= target }
}
