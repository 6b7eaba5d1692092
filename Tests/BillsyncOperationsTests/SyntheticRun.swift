import BillsyncKafka
@testable import BillsyncOperations
import BillsyncTopics
import Foundation

/// A run of a few thousand records with every outcome the accounting knows (loaded, unchanged,
/// dead-lettered at each stage, failed, retried, lost, pending, a roll-up, refused rows, another
/// source, a type no stage reads), drawn from a seed, and the refreshes an observer would read it
/// in: each refresh a chunk of records with their effects in shuffled order, then the stages'
/// committed offsets as they stood.
struct SyntheticRun {
    enum Message {
        case raw(FleetFacts.RawRecord)
        case upsert(FleetFacts.Upsert)
        case result(FleetFacts.LoadResult)
        case deadLetter(FleetFacts.DeadLetter)
        case retryCopy(FleetFacts.RetryCopy)
    }

    struct Refresh {
        var messages: [Message]
        var committed: [Stage: [KafkaTopicPartition: Int64]]
    }

    /// SplitMix64: the same run for the same seed.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    }

    var random: Random
    let records: Int
    var chunks: [[Message]] = []
    var offsets: [String: Int64] = [:]
    /// Per chunk, how far each topic was written once it was.
    var written: [[String: Int64]] = []
    let extracted = Date(timeIntervalSinceReferenceDate: 800_000_000)

    init(seed: UInt64, records: Int) {
        random = Random(state: seed)
        self.records = records
        generate()
    }

    mutating func position(_ topic: String) -> FleetFacts.Position {
        let offset = offsets[topic, default: 0]
        offsets[topic] = offset + 1
        return FleetFacts.Position(topic: topic, partition: 0, offset: offset)
    }

    mutating func generate() {
        var chunk: [Message] = []
        for index in 0..<records {
            let roll = random.unit()
            let type = roll < 0.70 ? "billing-account" : roll < 0.95 ? "billing-meter-reading" : "billing-contact"
            let source = random.unit() < 0.9 ? "nightly" : "weekly"
            let id = "r\(index)"
            chunk.append(.raw(FleetFacts.RawRecord(id: id, type: type, businessKey: String(format: "%010d", index), sourceName: source,
                                                   position: position("raw.\(type)"), file: "export.csv", line: index + 2,
                                                   extractedAt: extracted.addingTimeInterval(Double(index) / 100),
                                                   billingCycle: type == "billing-meter-reading" ? "2026-11" : nil)))
            if type != "billing-contact" { chunk += transformed(id, type: type) }
            if type == "billing-meter-reading" { chunk += uploaded(id) }
            if random.unit() < 0.01 {
                chunk.append(.deadLetter(FleetFacts.DeadLetter(stage: .extractor, originalId: nil, code: "csv.invalid-date", reason: "bad date",
                                                               field: "bill_date", example: "export.csv line \(index)", source: source,
                                                               file: "export.csv", line: index + 100_000, failedAt: nil)))
            }
            if (index + 1) % 200 == 0 || index == records - 1 {
                shuffle(&chunk)
                chunks.append(chunk)
                written.append(offsets)
                chunk = []
            }
        }
    }

    mutating func transformed(_ id: String, type: String) -> [Message] {
        let roll = random.unit()
        if roll < 0.05 {
            return [.deadLetter(FleetFacts.DeadLetter(stage: .transformer, originalId: id, code: "rule.email", reason: "not an e-mail",
                                                      field: "/payload/email", example: id, source: nil, file: nil, line: nil, failedAt: nil))]
        }
        if roll < 0.25 { return [] }  // unchanged
        var messages: [Message] = []
        let object = type == "billing-account" ? "Account" : "Meter_Reading__c"
        for copy in 0..<(roll < 0.30 ? 2 : 1) { messages += loaded("\(id)-u\(copy)", from: id, object: object, by: .transformer) }
        if type == "billing-account", random.unit() < 0.1 { messages += loaded("\(id)-total", from: id, object: "Account", by: .rollup) }
        return messages
    }

    mutating func loaded(_ id: String, from cause: String, object: String, by stage: Stage) -> [Message] {
        var messages: [Message] = [.upsert(FleetFacts.Upsert(id: id, causationId: cause, object: object, externalId: id, writtenBy: stage,
                                                             position: position("upserts")))]
        func result(_ outcome: String) -> Message { .result(FleetFacts.LoadResult(causationId: id, sink: "salesforce", object: object, outcome: outcome)) }
        func dead() -> Message {
            .deadLetter(FleetFacts.DeadLetter(stage: .loader, originalId: id, code: "sf.STRING_TOO_LONG", reason: "too long",
                                              field: "/payload/fields/Name", example: id, source: nil, file: nil, line: nil, failedAt: nil))
        }
        let roll = random.unit()
        switch roll {
        case ..<0.75: messages.append(result(random.unit() < 0.5 ? "created" : "updated"))
        case ..<0.78: messages += [result("failed"), dead()]
        case ..<0.80: messages.append(result("failed"))  // lost: a failed result without a dead letter
        case ..<0.83: messages.append(dead())
        case ..<0.88:
            messages.append(.retryCopy(FleetFacts.RetryCopy(stage: .loader, originalId: id, position: position("loader.retry.1"))))
            messages.append(result("updated"))
        case ..<0.90: break  // lost: handled without a result
        default: messages.append(.result(FleetFacts.LoadResult(causationId: id, sink: "postgres", object: object, outcome: "created")))
        }
        return messages
    }

    mutating func uploaded(_ id: String) -> [Message] {
        let roll = random.unit()
        if roll < 0.8 { return [.result(FleetFacts.LoadResult(causationId: id, sink: "billing", object: "billing upload", outcome: "created"))] }
        if roll < 0.9 {
            return [.deadLetter(FleetFacts.DeadLetter(stage: .loaderBilling, originalId: id, code: "billing.rejected", reason: "rejected",
                                                      field: nil, example: id, source: nil, file: nil, line: nil, failedAt: nil))]
        }
        return []
    }

    mutating func shuffle(_ messages: inout [Message]) {
        for index in messages.indices.reversed() where index > 0 {
            messages.swapAt(index, Int(random.next() % UInt64(index + 1)))
        }
    }

    /// Where the stages stand at the end: the last records and upserts are not handled yet.
    var finalCommitted: [Stage: [KafkaTopicPartition: Int64]] {
        func partition(_ topic: String) -> KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: 0) }
        let end = { (topic: String, behind: Int64) in max(0, (offsets[topic] ?? 0) - behind) }
        return [
            .transformer: [partition("raw.billing-account"): end("raw.billing-account", 10),
                           partition("raw.billing-meter-reading"): end("raw.billing-meter-reading", 3)],
            .loaderBilling: [partition("raw.billing-meter-reading"): end("raw.billing-meter-reading", 5)],
            .loader: [partition("upserts"): end("upserts", 20), partition("loader.retry.1"): end("loader.retry.1", 0)],
        ]
    }

    func facts() -> FleetFacts {
        var facts = FleetFacts()
        for message in chunks.joined() {
            switch message {
            case let .raw(record): facts.raw.append(record)
            case let .upsert(upsert): facts.upserts.append(upsert)
            case let .result(result): facts.results.append(result)
            case let .deadLetter(letter): facts.deadLetters.append(letter)
            case let .retryCopy(copy): facts.retryCopies.append(copy)
            }
        }
        facts.committed = finalCommitted
        return facts
    }

    /// Each chunk as one refresh, with the stages' offsets as far as that chunk was written (and
    /// never past where they end).
    func refreshes() -> [Refresh] {
        let final = finalCommitted
        return zip(chunks, written).map { messages, written in
            let committed = final.mapValues { offsets in
                Dictionary(uniqueKeysWithValues: offsets.map { ($0.key, min($0.value, written[$0.key.topic] ?? 0)) })
            }
            return Refresh(messages: messages, committed: committed)
        }
    }
}
