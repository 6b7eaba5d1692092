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

    /// The messages for a source record (one per canonical record it yields), with ids derived
    /// from where it came from and when it changed, so reading it again (a restart, a backfill)
    /// repeats the same ids; or one dead letter holding the record as it came, naming the field.
    /// Also returns the first record's key, for checkpoints ("" when refused).
    func messages(for record: JSONValue, mapping: any StructuredRecordMapping, origin: String, version: String,
                  counts: inout ExtractionCounts) -> (messages: [KafkaProducerMessage], key: String) {
        counts.read += 1
        let original = record.serialized()
        func refused(_ key: String, code: String, reason: String) -> (messages: [KafkaProducerMessage], key: String) {
            counts.rejected += 1
            return ([ExtractorDeadLetter.message(topic: deadLetterTopic, key: key.isEmpty ? origin : key, value: original, source: source.name,
                                                 origin: key.isEmpty ? origin : "\(origin) \(key)", line: 0, column: 0, code: code, reason: reason)], "")
        }
        let records: [ExportRecord]
        switch mapping.records(of: record, origin: origin) {
        case let .success(mapped): records = mapped
        case let .failure(rejection): return refused("", code: rejection.field.isEmpty ? "record.refused" : "record.\(rejection.field)", reason: rejection.description)
        }
        var messages: [KafkaProducerMessage] = []
        for exported in records {
            let identity = "\(source.system.rawValue)|\(source.name)|\(exported.entity)|\(exported.key)|\(version)"
            var envelope = MessageEnvelope(id: UUID(derivedFrom: identity), source: source, businessKey: exported.key,
                                           correlationId: UUID(derivedFrom: identity + "|lineage"), occurredAt: nil,
                                           payload: AnyBillingRecord(fields: exported.payload))
            envelope.type = exported.type
            do {
                messages.append(KafkaProducerMessage(topic: rawTopic(exported.entity), key: Array(exported.key.utf8), value: try contracts.encode(envelope)))
            } catch let violation as ContractViolation {
                return refused(exported.key, code: violation.code, reason: "\(exported.type.rawValue) \(exported.key): \(violation.description)")
            } catch {
                return refused(exported.key, code: "record.unreadable", reason: "\(exported.type.rawValue) \(exported.key): \(error)")
            }
        }
        counts.published += messages.count
        return (messages, records.first?.key ?? "")
    }
}
