import Foundation

/// The time a worker's timers run on: wall-clock readings (retry due times travel between
/// processes in headers, as epoch milliseconds) and sleeps.
///
/// Production uses `.system`. A test builds one over a clock it advances itself
/// (`WallClock(manual, startingAt:)`), so a retry tier of five minutes, or a paused partition
/// falling due, takes no real time at all.
public struct WallClock: Sendable {
    private let reading: @Sendable () -> Date
    private let sleeping: @Sendable (Duration) async throws -> Void
    private let sleepingUntil: @Sendable (Date) async throws -> Void

    /// The machine's clock.
    public static let system = WallClock(
        reading: { Date() },
        sleeping: { try await Task.sleep(for: $0) },
        sleepingUntil: { date in
            let remaining = date.timeIntervalSinceNow
            guard remaining > 0 else { return try Task.checkCancellation() }
            try await Task.sleep(for: .nanoseconds(Int64((remaining * 1e9).rounded(.up))))
        })

    private init(reading: @escaping @Sendable () -> Date, sleeping: @escaping @Sendable (Duration) async throws -> Void,
                 sleepingUntil: @escaping @Sendable (Date) async throws -> Void) {
        self.reading = reading
        self.sleeping = sleeping
        self.sleepingUntil = sleepingUntil
    }

    /// Wall-clock time that moves with `clock`, reading `start` now. A sleep until a date is a
    /// sleep until the clock's own instant for it, so a test advancing the clock meanwhile
    /// cannot make it overshoot.
    public init<C: Clock>(_ clock: C, startingAt start: Date) where C.Duration == Duration {
        let origin = clock.now
        self.init(
            reading: { start.addingTimeInterval(origin.duration(to: clock.now).timeInterval) },
            sleeping: { try await clock.sleep(for: $0) },
            sleepingUntil: { date in
                let offset = date.timeIntervalSince(start)
                try await clock.sleep(until: origin.advanced(by: .nanoseconds(Int64((offset * 1e9).rounded(.up)))), tolerance: nil)
            })
    }

    public var now: Date { reading() }

    /// Sleeps for `duration`; throws `CancellationError` when the task is cancelled.
    public func sleep(for duration: Duration) async throws {
        try await sleeping(duration)
    }

    /// Sleeps until `date` (at once when it has passed).
    public func sleep(until date: Date) async throws {
        try await sleepingUntil(date)
    }
}

extension Duration {
    /// In seconds, for `Date` arithmetic.
    public var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
