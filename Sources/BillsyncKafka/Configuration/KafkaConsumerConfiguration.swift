/// How a consumer joins its group and what it reads.
public struct KafkaConsumerConfiguration: Sendable {
    /// What to read: topics as a member of a consumer group, or fixed partitions (replays, tools).
    public enum Subscription: Sendable {
        case topics([String])
        /// Reads exactly these partitions from the given offsets (`KafkaOffset.beginning`, ...);
        /// no group membership, but offsets can still be committed under `groupID`.
        case partitions([KafkaTopicPartition: Int64])
    }

    /// Where to start in a partition that has no committed offset for the group.
    public struct OffsetReset: Hashable, Sendable {
        let value: String
        public static let earliest = OffsetReset(value: "earliest")
        public static let latest = OffsetReset(value: "latest")
        /// Fails instead of guessing: for stages that must not skip or re-read silently.
        public static let error = OffsetReset(value: "error")
    }

    public struct AssignmentStrategy: Hashable, Sendable {
        let value: String
        public static let range = AssignmentStrategy(value: "range")
        public static let roundRobin = AssignmentStrategy(value: "roundrobin")
        /// Moves only the partitions that must move, so a scale-out does not stop every member.
        public static let cooperativeSticky = AssignmentStrategy(value: "cooperative-sticky")
    }

    public var connection: KafkaConnection
    public var groupID: String
    public var subscription: Subscription
    public var offsetReset: OffsetReset = .earliest
    public var assignmentStrategy: AssignmentStrategy = .cooperativeSticky
    /// A member silent for this long is removed from the group and its partitions move.
    public var sessionTimeout: Duration = .seconds(45)
    /// How often offsets marked done are committed in the background (they are also committed
    /// before partitions are revoked and when the consumer closes).
    public var commitInterval: Duration = .seconds(2)
    /// False for a reader that only looks (a snapshot, a follower of a compacted table): it
    /// commits nothing, so closing it never waits on a commit, and it leaves no offsets behind.
    /// (librdkafka 2.x can abort closing a handle whose assignment still has commits in flight.)
    public var commitsOffsets = true
    /// Messages fetched but not yet taken by the application; fetching waits beyond this.
    public var bufferedMessages = 10_000
    /// On shutdown, how long to wait for messages already handed out to be marked done
    /// before committing what is done and leaving the group.
    public var drainTimeout: Duration = .seconds(10)
    /// Any other librdkafka consumer property; wins over everything above.
    public var properties: [String: String] = [:]

    public init(connection: KafkaConnection, groupID: String, subscription: Subscription) {
        self.connection = connection
        self.groupID = groupID
        self.subscription = subscription
    }

    /// librdkafka properties that would break at-least-once if a user's configuration set them:
    /// with an automatic offset store, offsets move before the outputs are acknowledged (a crash
    /// then loses messages); without auto-commit, nothing done is ever committed.
    public static let reservedProperties: [String: String] = [
        "enable.auto.offset.store": "billsync stores a message's offset only after its outputs are acknowledged (at-least-once)",
        "enable.auto.commit": "billsync commits the offsets it stored periodically, before a revoke and on close; set commitInterval instead",
    ]

    /// Every librdkafka property of the consumer; refuses a user's property that would break
    /// at-least-once, naming it and why.
    func validatedLibrdkafkaProperties() throws(KafkaError) -> [String: String] {
        for key in properties.keys.sorted() + connection.properties.keys.sorted() {
            if let reason = Self.reservedProperties[key] {
                throw KafkaError(kind: .configuration, message: "the consumer property \(key) cannot be configured: \(reason)")
            }
        }
        return librdkafkaProperties
    }

    var librdkafkaProperties: [String: String] {
        var result = connection.librdkafkaProperties
        result["group.id"] = groupID
        result["auto.offset.reset"] = offsetReset.value
        result["partition.assignment.strategy"] = assignmentStrategy.value
        result["session.timeout.ms"] = sessionTimeout.librdkafkaMilliseconds
        // At-least-once: only offsets the application marked done are ever stored, and only
        // stored offsets are committed (periodically, before a revoke, and on close).
        result["enable.auto.offset.store"] = "false"
        result["enable.auto.commit"] = commitsOffsets ? "true" : "false"
        result["auto.commit.interval.ms"] = commitInterval.librdkafkaMilliseconds
        result["enable.partition.eof"] = "false"
        result.merge(properties) { _, configured in configured }
        return result
    }
}
