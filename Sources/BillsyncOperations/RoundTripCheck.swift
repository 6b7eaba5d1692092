import BillsyncKafka
import Foundation
import Logging

/// Proves the path through the broker end to end: produces keyed messages with headers (and a
/// tombstone), reads them back as a consumer group member, and checks each arrived intact.
public struct RoundTripCheck: Sendable {
    public struct Result: Sendable {
        public let sent: Int
        public let received: Int
        public let mismatched: [String]
        public let seconds: Double
        public var succeeded: Bool { sent == received && mismatched.isEmpty }
    }

    public var connection: KafkaConnection
    public var topic: String
    public var messages: Int
    public var logger: Logger

    public init(connection: KafkaConnection, topic: String, messages: Int, logger: Logger) {
        self.connection = connection
        self.topic = topic
        self.messages = messages
        self.logger = logger
    }

    public func run(timeout: Duration = .seconds(60)) async throws -> Result {
        let runID = UUID().uuidString.prefix(8).lowercased()
        let clock = ContinuousClock()
        let started = clock.now
        var expected: [String: KafkaProducerMessage] = [:]
        let outgoing = (0..<messages).map { index -> KafkaProducerMessage in
            let key = "check-\(runID)-\(index)"
            // Every tenth message is a tombstone: the path must carry "no value" too.
            let message = KafkaProducerMessage(
                topic: topic, key: key, value: index % 10 == 9 ? nil : "{\"check\":\"\(runID)\",\"n\":\(index)}",
                headers: [KafkaHeader(name: "billsync.check-run", string: String(runID))]
            )
            expected[key] = message
            return message
        }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: connection), logger: logger)
        _ = try await producer.sendAll(outgoing)
        await producer.shutdown()

        var configuration = KafkaConsumerConfiguration(connection: connection, groupID: "billsync-check-\(runID)", subscription: .topics([topic]))
        configuration.sessionTimeout = .seconds(6)
        configuration.drainTimeout = .seconds(2)
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        let expectedValues = expected.mapValues(\.value)
        let outcome = try await withThrowingTaskGroup(of: (Int, [String])?.self) { group in
            group.addTask { try await consumer.run(); return nil }
            group.addTask {
                var received = 0
                var mismatched: [String] = []
                for try await message in consumer.messages {
                    defer { consumer.markDone(message) }
                    guard message.headers.last(named: "billsync.check-run") == String(runID) else { continue }
                    received += 1
                    let key = message.keyString ?? ""
                    if expectedValues[key] ?? nil != message.value { mismatched.append(key) }
                    if received == messages { break }
                }
                return (received, mismatched)
            }
            group.addTask { try? await Task.sleep(for: timeout); return (-1, []) }
            var outcome: (Int, [String]) = (0, [])
            if let first = try await group.next(), let result = first { outcome = result }
            consumer.triggerShutdown()
            group.cancelAll()
            return outcome
        }
        return Result(sent: messages, received: max(outcome.0, 0), mismatched: outcome.1,
                      seconds: Double((clock.now - started).components.seconds))
    }
}
