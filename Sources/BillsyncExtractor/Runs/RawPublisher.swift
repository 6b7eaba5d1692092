import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncTopics
import Foundation

/// Where a source record came from: a row of a file, or a record of an API resource or query.
struct RecordOrigin {
    /// For messages and dead letters: the file's name, or `billing/v1/accounts`.
    var name: String
    /// The row's line in its file; nil for API and SQL records.
    var line: Int?
    /// The row as the file had it, or the record's JSON: what a dead letter holds.
    var bytes: [UInt8]
    /// What the message ids derive from, with each record's entity and place in the row: the
    /// same source record read again (a restart, a backfill) gets the same ids.
    var identity: String
}

/// The one place raw messages and the extractor's dead letters are built, for files, the
/// billing API and SQL alike: a source record's canonical records become messages on
/// `<prefix>.raw.<entity>`, or the record becomes one dead letter on `<prefix>.extractor.dlq`
/// holding it as it came, naming the field (and, for a file, the column) and the reason.
struct RawPublisher: Sendable {
    let contracts: MessageContracts
    let source: MessageSource
    let rawTopic: @Sendable (String) -> String
    let deadLetterTopic: String

    /// The most of a row carried in the `billsync.origin.row` header: a row is rarely near it,
    /// and a message must stay under the broker's size limit.
    static let rowHeaderLimit = 32 * 1024

    init(contracts: MessageContracts, system: MessageSource.System, sourceName: String, topicPrefix: String) {
        self.contracts = contracts
        source = MessageSource(system: system, name: sourceName)
        let catalog = TopicCatalog(prefix: topicPrefix)
        rawTopic = { catalog.rawTopic($0) }
        deadLetterTopic = catalog.deadLetterTopic(stage: .extractor)
    }

    /// What became of one source record.
    struct Prepared {
        var messages: [KafkaProducerMessage]
        /// The first record's business key; "" when refused.
        var key: String
        var refused: Bool

        func count(into counts: inout ExtractionCounts) {
            counts.read += 1
            if refused { counts.rejected += 1 } else { counts.published += messages.count }
        }
    }

    /// The messages for a mapped source record, or its dead letter. A record breaking its raw
    /// contract refuses the whole source record (none of its records is published), named by
    /// `locate(path)` when the caller knows the column a canonical field came from.
    func prepare(_ mapped: Result<[ExportRecord], RowRejection>, origin: RecordOrigin,
                 locate: (String) -> (column: Int, name: String)? = { _ in nil }, columns: (Int) -> [UInt8]? = { _ in nil }) -> Prepared {
        let records: [ExportRecord]
        switch mapped {
        case let .success(mapped): records = mapped
        case let .failure(rejection):
            return refusal(origin, column: rejection.column, code: (origin.line == nil ? "record." : "csv.") + rejection.field,
                           reason: rejection.description)
        }
        var messages: [KafkaProducerMessage] = []
        for (index, record) in records.enumerated() {
            let identity = "\(origin.identity)|\(record.entity)|\(index == 0 ? "" : "\(index)|")\(record.key)"
            var envelope = MessageEnvelope(id: UUID(derivedFrom: identity), source: source, businessKey: record.key,
                                           correlationId: UUID(derivedFrom: identity + "|lineage"), occurredAt: nil,
                                           payload: AnyBillingRecord(fields: record.payload))
            envelope.type = record.type
            do {
                var headers = originHeaders(origin)
                if let columns = columns(record.declaration) { headers.append(KafkaHeader(name: StageHeaders.originColumns, value: columns)) }
                messages.append(KafkaProducerMessage(topic: rawTopic(record.entity), key: Array(record.key.utf8), value: try contracts.encode(envelope),
                                                     headers: headers))
            } catch let violation as ContractViolation {
                let path = violation.pointer.map { Self.path(of: $0.description) } ?? ""
                let location = locate(path)
                let field = location?.name ?? (path.isEmpty ? "(record)" : path)
                let place = origin.line.map { "\(origin.name) line \($0), column \(location?.column ?? 0) (\(field))" } ?? "\(origin.name) \(record.key)"
                return refusal(origin, column: location?.column ?? 0, code: violation.code,
                               reason: "\(place): \(record.type.rawValue) \(record.key): \(violation.description)\(path.isEmpty ? "" : " → \(path)")")
            } catch {
                return refusal(origin, column: 0, code: "record.unreadable", reason: "\(origin.name): \(record.type.rawValue) \(record.key): \(error)")
            }
        }
        return Prepared(messages: messages, key: records.first?.key ?? "", refused: false)
    }

    /// `/payload/primaryAddress/postcode` → `primaryAddress.postcode`.
    static func path(of pointer: String) -> String {
        pointer.split(separator: "/").dropFirst().joined(separator: ".")
    }

    /// Where a raw message came from, carried through every later stage (a file's name, line
    /// and row; an API or SQL record's source).
    func originHeaders(_ origin: RecordOrigin) -> [KafkaHeader] {
        guard let line = origin.line else { return [] }
        return [KafkaHeader(name: StageHeaders.originFile, value: Array(origin.name.utf8)),
                KafkaHeader(name: StageHeaders.originLine, value: Array(String(line).utf8)),
                KafkaHeader(name: StageHeaders.originRow, value: Array(origin.bytes.prefix(Self.rowHeaderLimit)))]
    }

    func refusal(_ origin: RecordOrigin, column: Int, code: String, reason: String) -> Prepared {
        func header(_ name: String, _ value: String) -> KafkaHeader { KafkaHeader(name: name, value: Array(value.utf8)) }
        let now = Timestamp.now.text
        let key = origin.line.map { "\(origin.name):\($0)" } ?? origin.name
        let letter = KafkaProducerMessage(topic: deadLetterTopic, key: Array(key.utf8), value: origin.bytes, headers: [
            header(StageHeaders.originFile, origin.name), header(StageHeaders.originLine, String(origin.line ?? 0)),
            header(StageHeaders.originColumn, String(column)), KafkaHeader(name: StageHeaders.originRow, value: Array(origin.bytes.prefix(Self.rowHeaderLimit))),
            header(StageHeaders.stage, "extractor"), header(StageHeaders.errorClass, ErrorClass.permanent.rawValue),
            header(StageHeaders.errorCode, code), header(StageHeaders.errorMessage, String(reason.prefix(2000))), header(StageHeaders.attempts, "1"),
            header(StageHeaders.firstFailedAt, now), header(StageHeaders.lastFailedAt, now), header(StageHeaders.source, source.name),
        ])
        return Prepared(messages: [letter], key: "", refused: true)
    }
}
