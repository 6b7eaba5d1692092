import Foundation

/// Events in the last 24 hours on the emulator's clock: Salesforce's allocations (API requests,
/// Bulk API records) are counted over a rolling day, not reset at midnight.
struct RollingDayCount {
    static let window: TimeInterval = 86_400
    private var times: [Date] = []
    private var start = 0

    /// Events within the 24 hours before `now`.
    mutating func count(at now: Date) -> Int {
        let cutoff = now.addingTimeInterval(-Self.window)
        while start < times.count, times[start] <= cutoff { start += 1 }
        if start > 4_096, start * 2 > times.count {
            times.removeFirst(start)
            start = 0
        }
        return times.count - start
    }

    mutating func add(at now: Date, times count: Int = 1) {
        times.append(contentsOf: repeatElement(now, count: count))
    }
}
