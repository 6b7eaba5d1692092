import BillsyncTestSupport
import BillsyncRuntime
import BillsyncTopics
import Foundation
import Testing

@Suite("Worker configuration comes from YAML and the environment, and bad values are named")
struct WorkerConfigurationTests {
    func load(_ yaml: String?, _ environment: [String: String] = [:]) throws -> WorkerConfiguration {
        var configuration = WorkerConfiguration(stage: .transformer)
        var file: String?
        if let yaml {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("billsync-\(UUID().uuidString).yaml")
            try yaml.write(to: url, atomically: true, encoding: .utf8)
            file = url.path
        }
        try configuration.load(file: file, environment: environment)
        return configuration
    }

    @Test("defaults name the stage's group, inputs, retry topics and dead-letter topic, from the topic catalog")
    func defaults() throws {
        let configuration = try load(nil)
        #expect(configuration.runtime.group == "billsync-transformer")
        #expect(configuration.runtime.inputTopics == ["billsync.raw.account", "billsync.raw.bill", "billsync.raw.premise", "billsync.raw.meter-reading", "billsync.raw.product"])
        #expect(configuration.runtime.retryTopics == ["billsync.transformer.retry.1", "billsync.transformer.retry.2"])
        #expect(configuration.runtime.deadLetterTopic == "billsync.transformer.dlq")
        #expect(configuration.runtime.retry.tiers == [.seconds(30), .seconds(300)])
    }

    @Test("a topic prefix renames every topic and the group of a stage, several fleets sharing one cluster")
    func prefixRenamesEverything() {
        let configuration = WorkerConfiguration(stage: .loaderBilling, catalog: TopicCatalog(prefix: "staging"))
        #expect(configuration.runtime.group == "staging-loader-billing")
        #expect(configuration.runtime.inputTopics == ["staging.raw.meter-reading"])
        let names = configuration.runtime.inputTopics + configuration.runtime.retryTopics + [configuration.runtime.deadLetterTopic]
        #expect(names.allSatisfy { $0.hasPrefix("staging.") })
    }

    @Test("the environment wins over the file")
    func environmentWins() throws {
        let yaml = """
        kafka:
          brokers: [kafka-a:9092, kafka-b:9092]
          properties:
            security.protocol: SASL_SSL
        http:
          port: 9000
        retry:
          tiers: [10s, 2m]
        """
        let configuration = try load(yaml, ["BILLSYNC_HTTP_PORT": "9100", "KAFKA_BROKERS": "override:9092",
                                            "BILLSYNC_KAFKA_PROPERTY_SASL_USERNAME": "billsync"])
        #expect(configuration.httpPort == 9100)
        #expect(configuration.brokers == ["override:9092"])
        #expect(configuration.runtime.retry.tiers == [.seconds(10), .seconds(120)])
        #expect(configuration.kafkaProperties == ["security.protocol": "SASL_SSL", "sasl.username": "billsync"])
        #expect(configuration.origins["http.port"] == "$BILLSYNC_HTTP_PORT")
    }

    @Test("an unknown key is refused with its name, its line and a suggestion")
    func unknownKey() throws {
        do {
            _ = try load("kafka:\n  broker: [x:9092]\n")
            Issue.record("accepted an unknown key")
        } catch let error as ConfigurationError {
            #expect(error.key == "kafka.broker")
            #expect(error.reason.contains("line 2"))
            #expect(error.reason.contains("kafka.brokers"))
        }
    }

    @Test("a bad value is refused with the key and why")
    func badValues() throws {
        for (yaml, key) in [("http:\n  port: eighty\n", "http.port"), ("retry:\n  tiers: [30 seconds]\n", "retry.tiers"),
                            ("log:\n  level: loud\n", "log.level"), ("retry:\n  tiers: [30s]\n", "retry.tiers")] {
            #expect(throws: ConfigurationError.self, "\(key)") { try load(yaml) }
            do { _ = try load(yaml) } catch let error as ConfigurationError { #expect(error.key == key) }
        }
    }

    @Test("secrets come from files and are masked when the configuration is printed")
    func secretsAreMasked() throws {
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)")
        try "hunter2\n".write(to: secret, atomically: true, encoding: .utf8)
        let configuration = try load(nil, ["BILLSYNC_KAFKA_PROPERTY_SASL_PASSWORD_FILE": secret.path])
        #expect(configuration.kafkaProperties["sasl.password"] == "hunter2")
        #expect(!configuration.printable.contains("hunter2"))
        #expect(configuration.printable.contains("sasl.password: ********"))
    }

    @Test("the pass-through worker prints its effective configuration and refuses a bad one")
    func printConfigFromTheExecutable() async throws {
        let printed = try await ChildProcess.run(WorkerProcess.executable, arguments: ["--print-config"],
                                                 environment: ["BILLSYNC_KAFKA_PROPERTY_SASL_PASSWORD": "hunter2", "BILLSYNC_LOG_LEVEL": "debug"])
        #expect(printed.status == 0)
        #expect(printed.outputText.contains("level: debug"))
        #expect(printed.outputText.contains("sasl.password: ********"))
        #expect(!printed.outputText.contains("hunter2"))

        let failing = try await ChildProcess.run(WorkerProcess.executable, environment: ["BILLSYNC_HTTP_PORT": "not-a-port"])
        #expect(failing.status != 0)
        #expect(failing.errorText.contains("http.port"))
    }
}
