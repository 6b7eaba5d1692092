@testable import BillsyncKafka
import BillsyncTestSupport
import Testing

@Suite("Configuration has safe defaults and passes anything else through")
struct ConfigurationTests {
    let connection = KafkaConnection(bootstrapServers: ["a:9092", "b:9092"], properties: ["security.protocol": "ssl"])

    @Test("producers default to idempotent delivery acknowledged by all replicas")
    func producerDefaults() {
        let properties = KafkaProducerConfiguration(connection: connection).librdkafkaProperties
        #expect(properties["acks"] == "all")
        #expect(properties["enable.idempotence"] == "true")
        #expect(properties["bootstrap.servers"] == "a:9092,b:9092")
        #expect(properties["security.protocol"] == "ssl")
    }

    @Test("consumers never store an offset on their own, and pass-through properties win")
    func consumerDefaults() {
        var configuration = KafkaConsumerConfiguration(connection: connection, groupID: "transformer", subscription: .topics(["raw"]))
        configuration.properties["session.timeout.ms"] = "10000"
        let properties = configuration.librdkafkaProperties
        #expect(properties["enable.auto.offset.store"] == "false")
        #expect(properties["group.id"] == "transformer")
        #expect(properties["session.timeout.ms"] == "10000")
    }

    @Test("a configured property that would break at-least-once is refused, saying why", arguments: [
        ("enable.auto.offset.store", "true", false), ("enable.auto.commit", "false", false), ("enable.auto.commit", "false", true),
    ])
    func atLeastOnceKeysAreRefused(key: String, value: String, onConnection: Bool) throws {
        var connection = self.connection
        if onConnection { connection.properties[key] = value }
        var configuration = KafkaConsumerConfiguration(connection: connection, groupID: "transformer", subscription: .topics(["raw"]))
        if !onConnection { configuration.properties[key] = value }
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains(key) == true)
        #expect(error?.message.contains("at-least-once") == true || error?.message.contains("commits the offsets") == true)
    }

    @Test("an invalid property is rejected with its name, and never with its value")
    func invalidPropertyNamesKeyNotValue() throws {
        var configuration = KafkaProducerConfiguration(connection: connection)
        configuration.properties["sasl.password.typo"] = "hunter2-secret"
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(configuration: configuration, logger: TestKafka.logger)
        }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains("sasl.password.typo") == true)
        #expect(error?.message.contains("hunter2-secret") == false)
    }

    @Test("KAFKA_BROKERS is split on commas and trimmed")
    func brokersFromEnvironment() {
        let parsed = KafkaConnection.fromEnvironment(["KAFKA_BROKERS": " k1:9092, k2:9093 ,"])
        #expect(parsed.bootstrapServers == ["k1:9092", "k2:9093"])
        #expect(KafkaConnection.fromEnvironment([:]).bootstrapServers == ["127.0.0.1:19092"])
    }

    @Test("the loaded librdkafka is new enough and reports where it was loaded from")
    func loadedLibraryIsSupported() throws {
        #expect(Librdkafka.isSupported, "loaded \(Librdkafka.version)")
        try Librdkafka.requireSupportedVersion()
        #expect(Librdkafka.loadedPath?.contains("librdkafka.so") == true)
    }
}
