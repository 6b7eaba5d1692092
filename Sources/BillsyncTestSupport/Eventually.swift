import Synchronization

/// Waits for a condition that another process or thread will make true (a group assignment,
/// a committed offset) by checking it often, instead of sleeping for a guessed time.
/// - Returns: whether the condition held before `timeout`.
@discardableResult
public func eventually(
    timeout: Duration = .seconds(30),
    every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// Reads messages from a sequence until `count` arrived or `timeout` passed, and returns what
/// arrived (fewer than `count` on a timeout, so a failing test shows what it got).
public func collect<Messages: AsyncSequence & Sendable>(
    _ count: Int,
    from messages: Messages,
    timeout: Duration = .seconds(60),
    each: @escaping @Sendable (Messages.Element) -> Void = { _ in }
) async throws -> [Messages.Element] where Messages.Element: Sendable {
    let received = Collected<Messages.Element>()
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            guard count > 0 else { return }
            for try await message in messages {
                each(message)
                let total = received.append(message)
                if total >= count { return }
            }
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
        }
        _ = try await group.next()
        group.cancelAll()
    }
    return received.elements
}

/// Elements gathered by one task and read by another.
final class Collected<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])
    func append(_ element: Element) -> Int { storage.withLock { $0.append(element); return $0.count } }
    var elements: [Element] { storage.withLock { $0 } }
}
