import BillsyncKafka
import BillsyncTestSupport
import BillsyncTopics
import Foundation
import Testing

/// The `billsync` executable as a script would run it: its output and its documented exit codes.
@Suite("The operator tool's commands say what they did and exit with codes scripts can trust")
struct OperatorCommandTests {
    struct Outcome {
        let status: Int32
        let output: String
        let errors: String
    }

    /// Runs `billsync` with `arguments` against the test broker (or `brokers`) and waits for it to exit.
    func billsync(_ arguments: [String], prefix: String, brokers: String? = nil) async throws -> Outcome {
        var environment = ProcessInfo.processInfo.environment
        environment["BILLSYNC_TOPIC_PREFIX"] = prefix
        if let brokers { environment["KAFKA_BROKERS"] = brokers }
        let outcome = try await ChildProcess.run(WorkerProcess.executable("billsync"), arguments: arguments, environment: environment,
                                                 directory: TestRepository.root)
        return Outcome(status: outcome.status, output: outcome.outputText, errors: outcome.errorText)
    }

    @Test("mapping docs follows each source column to its canonical field and on to its CRM field; a broken source mapping names its line")
    func mappingDocs() async throws {
        let docs = try await billsync(["mapping", "docs"], prefix: "docs")
        #expect(docs.status == 0, "\(docs.errors)")
        #expect(docs.output.contains("| `CustomerID` | required; must match `[0-9]{1,12}` | `customerId` | `Account.Billing_Customer_Id__c` (external id) |"))
        #expect(docs.output.contains("| `Name` | required | `name` | `Account.Name` (trim spaces; required; at most 255 characters) |"))
        #expect(docs.output.contains("### Source `product-catalog`: `product_catalog*.csv`"))
        #expect(docs.output.contains("## billing-meter-reading → Meter_Reading__c"))
        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("\(TestKafka.uniqueName("sources")).yaml")
        try Data("version: 1\nsources:\n  - name: a\n    files: [a.csv]\n    format: { encoding: ebcdic }\n    records: []\n".utf8).write(to: broken)
        let check = try await billsync(["mapping", "check", "--sources", broken.path], prefix: "docs")
        #expect(check.status == 64)
        #expect(check.errors.contains("source mapping file line 5: encoding must be utf-8, windows-1252, iso-8859-1, utf-16"), "\(check.errors)")
    }

    @Test("topics ensure reports missing topics and changed retention (exit 3), fixes them with --apply (exit 0), then finds nothing to do")
    func topicsEnsure() async throws {
        let prefix = TestKafka.uniqueName("ensure")
        let catalog = TopicCatalog(prefix: prefix)
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        // One topic exists already, kept for one day instead of the catalog's 30.
        try await admin.createTopics([KafkaTopicSpecification.retained(name: catalog.deadLetterTopic(stage: .loader), partitions: 4, for: .seconds(86_400))])

        let report = try await billsync(["topics", "ensure"], prefix: prefix)
        #expect(report.status == 3, "\(report.errors)")
        #expect(report.output.contains("\(catalog.upsertCommands) ") && report.output.contains("missing"))
        let retention = report.output.split(separator: "\n").filter { $0.hasPrefix(catalog.deadLetterTopic(stage: .loader) + " ") }
        #expect(retention.count == 1 && retention.first?.contains("retention.ms") == true && retention.first?.contains("86400000") == true)

        let fixed = try await billsync(["topics", "ensure", "--apply"], prefix: prefix)
        #expect(fixed.status == 0, "\(fixed.errors)")
        #expect(fixed.output.contains("fixed: \(catalog.specifications.count - 1) created, 1 changed"))
        let config = try await admin.describeConfigs(ofTopics: [catalog.deadLetterTopic(stage: .loader)]).first
        #expect(config?["retention.ms"] == "\(30 * 86_400_000)")

        let again = try await billsync(["topics", "ensure"], prefix: prefix)
        #expect(again.status == 0 && again.output.contains("as the catalog says"))
    }

    @Test("a replay's dry run prints its prediction and sends nothing; a bad time, a missing topic and an unreachable broker each have their exit code")
    func replayDryRunAndErrors() async throws {
        let prefix = TestKafka.uniqueName("cli-replay")
        let catalog = TopicCatalog(partitions: 1, prefix: prefix)
        try await KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger).createTopics(catalog.specifications)
        try await TestKafka.seed(catalog.loadResults, count: 5)
        let target = try await TestKafka.createTopics("dry", partitions: 1)[0]

        let dry = try await billsync(["replay", catalog.loadResults, "--from", "2", "--into", target], prefix: prefix)
        #expect(dry.status == 0, "\(dry.errors)")
        #expect(dry.output.contains("3 messages, 3 distinct business keys"))
        #expect(dry.output.contains("dry run: nothing sent"))
        // Read to its end (a signal, not a wait): the dry run wrote nothing.
        #expect(try await TestKafka.readToEnd(target, partitions: 1).isEmpty)

        #expect(try await billsync(["replay", catalog.loadResults, "--from", "yesterday"], prefix: prefix).status == 64)
        let missing = try await billsync(["replay", "\(prefix).no-such-topic"], prefix: prefix)
        #expect(missing.status == 66 && missing.errors.contains("no-such-topic"))
        let unreachable = try await billsync(["topics", "list"], prefix: prefix, brokers: "127.0.0.1:9")
        #expect(unreachable.status == 69 && unreachable.errors.contains("cannot reach Kafka at 127.0.0.1:9"))
    }
}
