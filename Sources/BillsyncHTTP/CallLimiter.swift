/// At most `maximum` operations at once; the others wait their turn in arrival order. How a
/// client keeps its calls in flight to one service bounded, whichever tasks make them.
public actor CallLimiter {
    public let maximum: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(maximum: Int) {
        precondition(maximum > 0, "at least one call must be allowed")
        self.maximum = maximum
    }

    /// Runs `operation` once a slot is free. A task cancelled while it waits still runs (and so
    /// sees its cancellation itself): a slot is never lost.
    public func run<Result: Sendable>(_ operation: @Sendable () async throws -> Result) async throws -> Result {
        await acquire()
        defer { release() }
        return try await operation()
    }

    /// Operations running now.
    public var inFlight: Int { running }

    private func acquire() async {
        if running < maximum {
            running += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            // The slot passes straight to the next waiter.
            waiting.removeFirst().resume()
        }
    }
}
