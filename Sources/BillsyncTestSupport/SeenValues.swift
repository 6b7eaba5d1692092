import Synchronization

/// The distinct values several consumer tasks have seen, and how many deliveries there were.
public final class SeenValues: Sendable {
    private let storage = Mutex<(values: Set<String>, deliveries: Int)>(([], 0))
    public init() {}

    public func insert(_ value: String) {
        storage.withLock { $0.values.insert(value); $0.deliveries += 1 }
    }

    public var values: Set<String> { storage.withLock { $0.values } }
    public var count: Int { storage.withLock { $0.values.count } }
    /// Deliveries including repeats: more than `count` means something was read twice.
    public var deliveries: Int { storage.withLock { $0.deliveries } }
}
