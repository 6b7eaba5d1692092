import Foundation
import Synchronization

/// The emulator's time in a test: it moves only when the test moves it, so a rolling 24 hours
/// passes in no time at all.
final class EmulatorTime: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))

    var now: Date { current.withLock { $0 } }

    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
