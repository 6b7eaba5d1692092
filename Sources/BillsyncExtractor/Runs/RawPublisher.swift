import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncTopics
import Foundation

/// Turns shaped records into raw messages, or into dead letters naming the record and the field
/// that breaks the contract. Shared by the API and SQL extractions.
struct RawPublisher: Sendable {
    let contracts: MessageContracts
    let source: MessageSource
    let rawTopic: @Sendable (String) -> String
    let deadLetterTopic: String

    /// Publishes to `<prefix>.raw.<entity>`, refused records to `<prefix>.extractor.dlq`.
    init(contracts: MessageContracts, system: MessageSource.System, sourceName: String, topicPrefix: String) {
        self.contracts = contracts
        source = MessageSource(system: system, name: sourceName)
        let catalog = TopicCatalog(prefix: topicPrefix)
        rawTopic = { catalog.rawTopic($0) }
        deadLetterTopic = catalog.deadLetterTopic(stage: .extractor)
    }

    /// A message for the record, with an id derived from where it came from and when it
    /// changed, so reading it again (a restart, a backfill) repeats the same id.
    func message(for record: JSONValue, shape: RawRecordShape, origin: String, version: String, counts: inout ExtractionCounts) -> KafkaProducerMessage {
        counts.read += 1
        let payload = shape.payload(from: record)
        let original = record.serialized()
        guard let key = shape.key(of: payload) else {
            counts.rejected += 1
            return ExtractorDeadLetter.message(topic: deadLetterTopic, key: origin, value: original, source: source.name, origin: origin,
                                               line: 0, column: 0, code: "record.key",
                                               reason: "\(shape.type.rawValue) record has no \(shape.keyFields.joined(separator: " and "))")
        }
        let identity = "\(source.system.rawValue)|\(source.name)|\(shape.entity)|\(key)|\(version)"
        var envelope = MessageEnvelope(id: UUID(derivedFrom: identity), source: source, businessKey: key,
                                       correlationId: UUID(derivedFrom: identity + "|lineage"), occurredAt: nil,
                                       payload: AnyBillingRecord(fields: payload))
        envelope.type = shape.type
        do {
            let value = try contracts.encode(envelope)
            counts.published += 1
            return KafkaProducerMessage(topic: rawTopic(shape.entity), key: Array(key.utf8), value: value)
        } catch let violation as ContractViolation {
            counts.rejected += 1
            return ExtractorDeadLetter.message(topic: deadLetterTopic, key: key, value: original, source: source.name,
                                               origin: "\(origin) \(key)", line: 0, column: 0, code: violation.code,
                                               reason: "\(shape.type.rawValue) \(key): \(violation.description)")
        } catch {
            counts.rejected += 1
            return ExtractorDeadLetter.message(topic: deadLetterTopic, key: key, value: original, source: source.name,
                                               origin: "\(origin) \(key)", line: 0, column: 0, code: "record.unreadable",
                                               reason: "\(shape.type.rawValue) \(key): \(error)")
        }
    }
}
