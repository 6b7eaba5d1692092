import BillsyncKafka
import BillsyncTestSupport
import Testing

/// Faults a real broker cannot be made to show on demand, injected with librdkafka's mock cluster.
@Suite("Broker faults are retried or reported with the right class")
struct MockClusterFaultTests {
    private func producer(for cluster: KafkaMockCluster, deliveryTimeout: Duration = .seconds(10)) throws -> KafkaProducer {
        var configuration = KafkaProducerConfiguration(connection: KafkaConnection(bootstrapServers: cluster.bootstrapServers))
        configuration.deliveryTimeout = deliveryTimeout
        configuration.linger = .milliseconds(1)
        configuration.properties["retry.backoff.ms"] = "10"
        // Reconnect quickly once a downed mock broker is back.
        configuration.properties["reconnect.backoff.max.ms"] = "200"
        return try KafkaProducer(configuration: configuration, logger: TestKafka.logger)
    }

    @Test("a produce request that fails with a retriable error is retried and the message delivered once")
    func retriableProduceErrorsAreRetried() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        try cluster.createTopic("bills", partitions: 1)
        let producer = try producer(for: cluster)
        cluster.failNextRequests(.produce, withCodes: Array(repeating: KafkaErrorCode.notEnoughReplicas, count: 3))
        let report = try await producer.send(KafkaProducerMessage(topic: "bills", key: "a", value: "1"))
        #expect(report.offset == 0)
        #expect(producer.counters == KafkaProducerCounters(enqueued: 1, delivered: 1, failed: 0))
        await producer.shutdown()
    }

    @Test("a produce request rejected for good fails with a permanent, non-retriable error")
    func permanentProduceErrorIsReported() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        try cluster.createTopic("bills", partitions: 1)
        let producer = try producer(for: cluster)
        cluster.failNextRequests(.produce, withCodes: [KafkaErrorCode.messageTooLarge])
        let error = try await #require(throws: KafkaError.self) {
            try await producer.send(KafkaProducerMessage(topic: "bills", key: "a", value: "1"))
        }
        #expect(error.codeName == "MSG_SIZE_TOO_LARGE")
        #expect(!error.isRetriable)
        #expect(error.kind == .delivery)
        #expect(producer.counters.failed == 1)
        await producer.shutdown()
    }

    @Test("while the only broker is down a send times out with a retriable error, and succeeds once it is back")
    func brokerDownThenUp() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: TestKafka.logger)
        try cluster.createTopic("bills", partitions: 1)
        let producer = try producer(for: cluster, deliveryTimeout: .seconds(2))
        try await producer.send(KafkaProducerMessage(topic: "bills", key: "a", value: "warm-up"))
        cluster.setBrokerDown(1)
        let error = try await #require(throws: KafkaError.self) {
            try await producer.send(KafkaProducerMessage(topic: "bills", key: "a", value: "lost?"))
        }
        #expect(error.isRetriable, "\(error)")
        #expect(!error.isFatal)
        cluster.setBrokerUp(1)
        let report = try await producer.send(KafkaProducerMessage(topic: "bills", key: "a", value: "after"))
        #expect(report.isDelivered)
        await producer.shutdown()
    }

    @Test("a consumer group on the mock cluster reads what was produced")
    func consumerGroupOnMockCluster() async throws {
        let cluster = try KafkaMockCluster(brokers: 3, logger: TestKafka.logger)
        try cluster.createTopic("readings", partitions: 3, replicationFactor: 3)
        let producer = try producer(for: cluster)
        _ = try await producer.sendAll((0..<30).map { KafkaProducerMessage(topic: "readings", key: "m\($0)", value: "\($0)") })
        await producer.shutdown()
        var configuration = KafkaConsumerConfiguration(
            connection: KafkaConnection(bootstrapServers: cluster.bootstrapServers), groupID: "mock-group", subscription: .topics(["readings"])
        )
        configuration.drainTimeout = .seconds(1)
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await consumer.run() }
            let received = try await collect(30, from: consumer.messages) { consumer.markDone($0) }
            #expect(Set(received.compactMap(\.valueString)) == Set((0..<30).map(String.init)))
            consumer.triggerShutdown()
            try await tasks.waitForAll()
        }
    }
}
