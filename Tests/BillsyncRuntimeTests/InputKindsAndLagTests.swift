import BillsyncContracts
import BillsyncKafka
import BillsyncRuntime
import BillsyncTestSupport
import Foundation
import Synchronization
import Testing

/// A handler that reads records as they are: what an alerter or a redrive reading dead letters does.
final class RawRecordHandler: RecordHandler, Sendable {
    typealias Input = KafkaConsumerMessage
    let output: String
    private let seen = Mutex<[KafkaConsumerMessage]>([])

    init(output: String) { self.output = output }

    var records: [KafkaConsumerMessage] { seen.withLock { $0 } }

    func handle(_ message: StageMessage<KafkaConsumerMessage>) async throws -> [OutgoingMessage] {
        seen.withLock { $0.append(message.input) }
        return [OutgoingMessage(topic: output, key: message.input.keyString ?? "", value: message.input.value ?? [],
                                headers: message.input.headers)]
    }
}

/// Holds every message it gets until released, and tells what lag it saw.
final class GatedHandler: RecordHandler, Sendable {
    typealias Input = MessageEnvelope<BillingAccount>
    let output: String
    private let state = Mutex<(entered: Int, released: Bool, waiters: [CheckedContinuation<Void, Never>])>((0, false, []))

    init(output: String) { self.output = output }

    var entered: Int { state.withLock { $0.entered } }

    func release() {
        let waiters = state.withLock { state in
            state.released = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    func handle(_ message: ContractMessage<BillingAccount>) async throws -> [OutgoingMessage] {
        await withCheckedContinuation { continuation in
            let go = state.withLock { state -> Bool in
                state.entered += 1
                if state.released { return true }
                state.waiters.append(continuation)
                return false
            }
            if go { continuation.resume() }
        }
        return [try OutgoingMessage(topic: output, message: message.envelope.derived(payload: message.envelope.payload),
                                    contracts: RuntimeHarness.contracts)]
    }
}

@Suite("Handlers read contract messages or records as they are, and see how far behind the stage is", .serialized)
struct InputKindsAndLagTests {
    @Test("a handler of records as they are gets bytes that are no contract message, with their headers, instead of a dead letter")
    func rawRecordsAreNotPoison() async throws {
        let harness = try await RuntimeHarness.make(partitions: 1)
        let handler = RawRecordHandler(output: harness.output)
        let producer = try TestKafka.producer()
        let row = KafkaProducerMessage(topic: harness.input, key: Array("row-7".utf8), value: Array("0000000007;Smith;;2024-13-01".utf8),
                                       headers: [KafkaHeader(name: StageHeaders.errorCode, value: Array("csv.LastBillDate".utf8))])
        _ = try await producer.send(row)
        await producer.shutdown()
        _ = try await harness.seedAccounts(0..<2)
        try await harness.run(handler, configuration: harness.configuration()) { () async throws in
            #expect(try await harness.read(harness.output, count: 3).count == 3)
        }
        let first = try #require(handler.records.first)
        #expect(first.valueString == "0000000007;Smith;;2024-13-01")
        #expect(first.headers.contains { $0.name == StageHeaders.errorCode && $0.value == Array("csv.LastBillDate".utf8) })
        #expect(first.topic == harness.input && first.offset == 0)
        #expect(try await harness.readToEnd(harness.deadLetters).isEmpty)
    }

    @Test("while a message is in hand, the stage reports the messages behind it and its age on the worker's clock")
    func lagInMessagesAndSeconds() async throws {
        let harness = try await RuntimeHarness.make(partitions: 1)
        let manual = ManualClock()
        let handler = GatedHandler(output: harness.output)
        _ = try await harness.seedAccounts(0..<5)
        let seeded = try await harness.readToEnd(harness.input)
        let produced = try #require(seeded.first?.timestamp)
        // The worker's clock reads the first message's time now: its age is what the clock moves.
        let clock = WallClock(manual, startingAt: produced)
        var configuration = harness.configuration()
        configuration.maximumInFlight = 1
        try await harness.run(handler, configuration: configuration, clock: clock) { (runtime: StageRuntime<GatedHandler>) async throws in
            #expect(await eventually { handler.entered == 1 })
            manual.advance(by: .seconds(40 * 60))
            let partition = KafkaTopicPartition(topic: harness.input, partition: 0)
            let lag = try #require(runtime.lag.partitions[partition])
            #expect(lag.oldestUnprocessedAge >= .seconds(40 * 60) && lag.oldestUnprocessedAge < .seconds(41 * 60))
            #expect(await eventually { runtime.lag.partitions[partition]?.messages == 5 })
            handler.release()
            #expect(try await harness.read(harness.output, count: 5).count == 5)
            #expect(await eventually { runtime.lag.partitions[partition] == PartitionLag(messages: 0, oldestUnprocessedAge: .zero) })
        }
    }

    @Test("the stage's heartbeat tells its lag in messages and seconds while a message is stuck, and says it stopped last")
    func heartbeats() async throws {
        let harness = try await RuntimeHarness.make(partitions: 1)
        let heartbeats = try await TestKafka.createTopics("heartbeats", partitions: 1)[0]
        let manual = ManualClock()
        let handler = GatedHandler(output: harness.output)
        _ = try await harness.seedAccounts(0..<5)
        let produced = try #require(try await harness.readToEnd(harness.input).first?.timestamp)
        var configuration = harness.configuration()
        configuration.maximumInFlight = 1
        configuration.heartbeatTopic = heartbeats
        let contracts = RuntimeHarness.contracts
        @Sendable func statuses(_ messages: [KafkaConsumerMessage]) throws -> [WorkerStatus] {
            try messages.map { try contracts.decode($0.value ?? [], as: WorkerStatus.self).payload }
        }
        try await harness.run(handler, configuration: configuration, clock: WallClock(manual, startingAt: produced)) { (_: StageRuntime<GatedHandler>) async throws in
            #expect(await eventually { handler.entered == 1 })
            manual.advance(by: .seconds(40 * 60))  // wakes the heartbeat, 40 minutes after the stuck message was written
            let beats = try statuses(try await harness.read(heartbeats, count: 2))
            let stuck = try #require(beats.last?.partitions.first { $0.topic == harness.input })
            #expect(beats.last?.state == .running)
            #expect(stuck.lagSeconds >= 2_400 && stuck.lagSeconds < 2_460)
            #expect(stuck.lagMessages == 5)
            handler.release()
            #expect(try await harness.read(harness.output, count: 5).count == 5)
        }
        let last = try #require(try statuses(try await harness.readToEnd(heartbeats)).last)
        #expect(last.state == .stopped)
        #expect(last.worker == "test-worker" && last.stage == harness.stage)
        #expect(last.handled == 5)
        #expect(last.partitions.first { $0.topic == harness.input }?.position == 5)
    }
}
