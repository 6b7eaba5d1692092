import BillsyncKafka
@testable import BillsyncOperations
import BillsyncTestSupport
import BillsyncTopics
import Foundation
import Testing

/// `billsync report` against the broker: the run's records read from its topics, the deliberate
/// anomalies checked, and what was not met summarised rather than printed one by one.
@Suite("The report summarises the expectations not met by kind and lists them all in a file")
struct ReportCommandTests {
    @Test("unmet expectations are summarised by kind with at most three examples each, and every one is written to the list file")
    func unmetExpectationsAreSummarised() async throws {
        let prefix = TestKafka.uniqueName("report")
        let catalog = TopicCatalog(partitions: 1, prefix: prefix)
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        try await admin.createTopics(catalog.specifications)
        // Eight accounts from export.csv (lines 2 to 9) that no stage has handled: none dead-lettered.
        let producer = try TestKafka.producer()
        let messages = (2...9).map { line in
            let key = String(format: "%010d", line)
            let value = #"{"id":"\#(UUID().uuidString)","type":"billing-account","schemaVersion":"1.0","source":{"system":"csv-drop","name":"nightly"},"businessKey":"\#(key)","correlationId":"\#(UUID().uuidString)","occurredAt":null,"extractedAt":"2026-12-01T00:00:00Z","payload":{}}"#
            return KafkaProducerMessage(topic: catalog.rawTopic("account"), key: Array(key.utf8), value: Array(value.utf8),
                                        headers: [KafkaHeader(name: "billsync.origin.file", value: Array("export.csv".utf8)),
                                                  KafkaHeader(name: "billsync.origin.line", value: Array(String(line).utf8))])
        }
        for report in try await producer.sendAll(messages) where !report.isDelivered { throw report.error! }
        await producer.shutdown()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(prefix, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let anomalies = (2...6).map { #"{"file":"export.csv","line":\#($0),"kind":"invalid-email","expected":"rejected"}"# }
            + (7...8).map { #"{"file":"export.csv","line":\#($0),"kind":"bad-date","expected":"rejected"}"# }
        try Data(#"{"anomalies":[\#(anomalies.joined(separator: ","))]}"#.utf8).write(to: folder.appendingPathComponent("anomalies.json"))

        var environment = ProcessInfo.processInfo.environment
        environment["BILLSYNC_TOPIC_PREFIX"] = prefix
        let outcome = try await ChildProcess.run(WorkerProcess.executable("billsync"),
                                                 arguments: ["report", "--anomalies", folder.appendingPathComponent("anomalies.json").path,
                                                             "--stages", "transformer"],
                                                 environment: environment, directory: TestRepository.root)
        let output = outcome.outputText
        #expect(outcome.status == 1, "\(outcome.errorText)")
        #expect(output.contains("Deliberate anomalies ending as expected: 0 of 7 (bad-date rejected 0/2, invalid-email rejected 0/5)"), "\(output)")
        #expect(output.contains("  NOT MET: 5 invalid-email (rejected), e.g.:\n"))
        #expect(output.contains("  NOT MET: 2 bad-date (rejected), e.g.:\n"))
        let examples = output.split(separator: "\n").filter { $0.hasPrefix("    export.csv line ") }
        #expect(examples.count == 3 + 2, "three examples of the five, both of the two")
        let list = folder.appendingPathComponent("anomalies.unmet.txt")
        #expect(output.contains("  Every expectation not met (7): \(list.path)"))
        let written = try String(contentsOf: list, encoding: .utf8).split(separator: "\n")
        #expect(written.count == 7)
        #expect(written.allSatisfy { $0.contains("should have been dead-lettered; its records ended billing-account: pending(stage: transformer)") })
        #expect(output.contains("Accounting does NOT close: 8 records are unaccounted for:"))
    }

    @Test("the summary names each kind's count met and shows the first problems of a kind in the anomalies file's order")
    func summaryByKind() {
        let expectations = (1...5).map { RecordExpectation(file: "a.csv", line: $0, kind: $0 < 5 ? "dup" : "email", expected: .rejected) }
        let results = expectations.map { ($0, $0.line == 1 ? nil : "line \($0.line) wrong") }
        let summary = ExpectationSummary(results)
        #expect(summary.lines(listedIn: "/tmp/x.txt") == [
            "Deliberate anomalies ending as expected: 1 of 5 (dup rejected 1/4, email rejected 0/1)",
            "  NOT MET: 3 dup (rejected), e.g.:", "    line 2 wrong", "    line 3 wrong", "    line 4 wrong",
            "  NOT MET: 1 email (rejected), e.g.:", "    line 5 wrong",
            "  Every expectation not met (4): /tmp/x.txt",
        ])
    }
}
