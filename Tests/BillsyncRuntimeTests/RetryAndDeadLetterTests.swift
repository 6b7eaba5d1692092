import BillsyncContracts
import BillsyncKafka
import BillsyncRuntime
import BillsyncTestSupport
import Foundation
import Testing

@Suite("Failed messages are retried, then dead-lettered, and never dropped", .serialized)
struct RetryAndDeadLetterTests {
    @Test("a handler that fails transiently twice succeeds in process, and its output is produced once")
    func transientInProcess() async throws {
        let harness = try await RuntimeHarness.make()
        let handler = ScriptedHandler(output: harness.output) { customerId, attempt in
            customerId == "0000000003" && attempt <= 2 ? .transient("sf.UNABLE_TO_LOCK_ROW", "row locked") : nil
        }
        _ = try await harness.seedAccounts(0..<10)
        try await harness.run(handler, configuration: harness.configuration(inProcessAttempts: 3)) {
            let outputs = try await harness.read(harness.output, count: 10)
            #expect(outputs.count == 10)
        }
        #expect(handler.attempts(of: "0000000003") == 3)
        #expect(try await harness.readToEnd(harness.output).count == 10)
        #expect(try await harness.readToEnd(harness.retryTopics[0]).count == 0)
        #expect(try await harness.readToEnd(harness.deadLetters).count == 0)
    }

    @Test("after the in-process budget a transient failure waits in the retry topic, then succeeds exactly once")
    func transientThroughRetryTopic() async throws {
        let harness = try await RuntimeHarness.make()
        let handler = ScriptedHandler(output: harness.output) { customerId, attempt in
            customerId == "0000000001" && attempt <= 3 ? .transient("http.503", "service unavailable") : nil
        }
        let ids = try await harness.seedAccounts(0..<4)
        try await harness.run(handler, configuration: harness.configuration(inProcessAttempts: 2)) {
            let outputs = try await harness.read(harness.output, count: 4)
            #expect(outputs.count == 4)
        }
        #expect(handler.attempts(of: "0000000001") == 4)
        let retried = try await harness.read(harness.retryTopics[0], count: 1)
        let copy = try #require(retried.first)
        #expect(copy.header(StageHeaders.attempts) == "2")
        #expect(copy.header(StageHeaders.originTopic) == harness.input)
        #expect(copy.header(StageHeaders.errorCode) == "http.503")
        #expect(copy.header(StageHeaders.dueAt) != nil)
        #expect(copy.keyString == "0000000001")
        // Produced onward exactly once, with the id derived from the input's.
        let outputs = try await harness.readToEnd(harness.output)
        #expect(outputs.count == 4)
        let derived = Set(ids.map { UUID(derivedFrom: "\($0.uuidString)|billing-account|0") })
        let seen = Set(try outputs.map { try RuntimeHarness.contracts.decode($0.value ?? [], as: BillingAccount.self).id })
        #expect(seen == derived)
        #expect(try await harness.readToEnd(harness.deadLetters).count == 0)
    }

    @Test("a permanent failure goes to the dead-letter topic with the original message and every header")
    func permanentFailureIsDeadLettered() async throws {
        let harness = try await RuntimeHarness.make()
        let handler = ScriptedHandler(output: harness.output) { customerId, _ in
            customerId == "0000000002" ? .permanent("rule.nmi.checksum", "NMI check digit is wrong", pointer: "/payload/nmi") : nil
        }
        let traceparent = KafkaHeader(name: "traceparent", value: Array("00-abc-01".utf8))
        _ = try await harness.seedAccounts(0..<5, headers: [traceparent])
        let configuration = harness.configuration()
        try await harness.run(handler, configuration: configuration) {
            let outputs = try await harness.read(harness.output, count: 4)
            let letters = try await harness.read(harness.deadLetters, count: 1)
            #expect(outputs.count == 4)
            #expect(letters.count == 1)
        }
        #expect(handler.attempts(of: "0000000002") == 1)
        let letter = try #require(try await harness.read(harness.deadLetters, count: 1).first)
        #expect(letter.keyString == "0000000002")
        let original = try RuntimeHarness.contracts.decode(letter.value ?? [], as: BillingAccount.self)
        #expect(original.payload.customerId == "0000000002")
        #expect(letter.header("traceparent") == "00-abc-01")
        #expect(letter.header(StageHeaders.originTopic) == harness.input)
        #expect(letter.header(StageHeaders.originPartition).flatMap(Int32.init) != nil)
        #expect(letter.header(StageHeaders.originOffset).flatMap(Int64.init) != nil)
        #expect(letter.header(StageHeaders.originGroup) == configuration.group)
        #expect(letter.header(StageHeaders.stage) == "test-stage")
        #expect(letter.header(StageHeaders.errorClass) == "permanent")
        #expect(letter.header(StageHeaders.errorCode) == "rule.nmi.checksum")
        #expect(letter.header(StageHeaders.errorMessage) == "NMI check digit is wrong")
        #expect(letter.header(StageHeaders.errorPointer) == "/payload/nmi")
        #expect(letter.header(StageHeaders.attempts) == "1")
        #expect(letter.header(StageHeaders.firstFailedAt).flatMap(Timestamp.init(parsing:)) != nil)
        #expect(letter.header(StageHeaders.lastFailedAt).flatMap(Timestamp.init(parsing:)) != nil)
        #expect(letter.header(StageHeaders.worker) == "test-worker")
    }

    @Test("a poison message is dead-lettered at once and the messages behind it in its partition carry on")
    func poisonDoesNotBlock() async throws {
        let harness = try await RuntimeHarness.make(partitions: 1)
        let handler = ScriptedHandler(output: harness.output) { _, _ in nil }
        try await harness.seedRaw(key: "broken", value: Array("{\"not\": \"an envelope\"".utf8))
        _ = try await harness.seedAccounts(0..<20)
        try await harness.run(handler, configuration: harness.configuration()) {
            let outputs = try await harness.read(harness.output, count: 20)
            #expect(outputs.count == 20)
        }
        let budget = harness.configuration().retry.inProcessBudget
        #expect(budget < .seconds(1))
        let letters = try await harness.read(harness.deadLetters, count: 1)
        let letter = try #require(letters.first)
        #expect(letter.header(StageHeaders.errorClass) == "poison")
        #expect(letter.header(StageHeaders.errorCode) == "schema.not-json")
        #expect(letter.header(StageHeaders.attempts) == "1")
        #expect(letter.keyString == "broken")
        #expect(handler.attempts(of: "broken") == 0)
    }
}
