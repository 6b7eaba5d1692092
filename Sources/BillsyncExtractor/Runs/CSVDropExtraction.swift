import BillsyncContracts
import BillsyncCSV
import BillsyncKafka
import Foundation
import Logging

/// Counts of one extraction run, per source: what the run summary reports.
public struct ExtractionCounts: Sendable, Equatable {
    public var read = 0
    public var published = 0
    public var rejected = 0
    public var files = 0
    public var failedFiles = 0

    public init() {}
}

/// One pass over a CSV drop folder: each new file's rows become raw billing messages (account,
/// bill, premise), bad rows become dead letters naming file, line and column, and the file is
/// filed away only once the broker acknowledged everything it produced.
public struct CSVDropExtraction: Sendable {
    public var folder: CSVDropFolder
    /// The configured source's name, in each message's `source.name`.
    public var sourceName: String
    /// `billsync.raw.<entity>` by default.
    public var rawTopic: @Sendable (String) -> String
    public var deadLetterTopic: String
    public let contracts: MessageContracts

    public init(folder: CSVDropFolder, sourceName: String, contracts: MessageContracts, topicPrefix: String = "billsync") {
        self.folder = folder
        self.sourceName = sourceName
        self.contracts = contracts
        rawTopic = { "\(topicPrefix).raw.\($0)" }
        deadLetterTopic = "\(topicPrefix).extractor.dlq"
    }

    /// Reads every file not in `processed` (content hashes); returns the counts and the hashes of
    /// the files now done, for the caller to checkpoint.
    public func run(processed: Set<String>, producer: KafkaProducer, logger: Logger) async throws -> (counts: ExtractionCounts, done: [String]) {
        var counts = ExtractionCounts()
        var done: [String] = []
        let scan = try folder.pendingFiles(alreadyProcessed: processed)
        for duplicate in scan.duplicates {
            logger.info("file already read (same content); filing it away", metadata: ["billsync.file": "\(duplicate.lastPathComponent)"])
            try folder.markProcessed(duplicate, hash: "dup-\(UUID().uuidString.prefix(8))")
        }
        for file in scan.pending {
            var reader = CSVRecordReader(bytes: file.bytes)
            let mapping: BillingExportMapping
            do {
                guard case let .success(header)? = reader.next() else {
                    throw RowRejection(file: file.name, line: 1, column: 0, field: "(header)", reason: "the file has no header row")
                }
                mapping = try BillingExportMapping(header: header, file: file.name)
            } catch let rejection as RowRejection {
                logger.error("file cannot be read", metadata: ["billsync.file": "\(file.name)", "billsync.reason": "\(rejection.reason)"])
                try folder.markFailed(file.url, hash: file.contentHash, reason: rejection.description)
                counts.failedFiles += 1
                continue
            }
            var messages: [KafkaProducerMessage] = []
            while let next = reader.next() {
                counts.read += 1
                let row: BillingExportRow
                switch next {
                case let .success(record):
                    switch mapping.map(record) {
                    case let .success(mapped): row = mapped
                    case let .failure(rejection):
                        messages.append(deadLetter(rejection, fields: record.fields, file: file))
                        counts.rejected += 1
                        continue
                    }
                case let .failure(error):
                    messages.append(deadLetter(RowRejection(file: file.name, line: error.line, column: error.column, field: "(row)", reason: error.reason),
                                               fields: [], file: file))
                    counts.rejected += 1
                    continue
                }
                do {
                    let published = try envelopes(for: row, file: file)
                    messages += published
                    counts.published += published.count
                } catch let violation as ContractViolation {
                    // The mapping read the row but its values break the raw contract (a value the
                    // mapping does not check): rejected like any other bad row, never a stopped run.
                    messages.append(deadLetter(RowRejection(file: file.name, line: row.line, column: 0,
                                                            field: violation.pointer?.description ?? "(row)", reason: violation.description),
                                               fields: [], file: file))
                    counts.rejected += 1
                }
            }
            // The file counts as read only once the broker has every message it produced.
            _ = try await producer.sendAll(messages)
            try folder.markProcessed(file.url, hash: file.contentHash)
            done.append(file.contentHash)
            counts.files += 1
            logger.info("file read", metadata: ["billsync.file": "\(file.name)", "billsync.published": "\(counts.published)",
                                                "billsync.rejected": "\(counts.rejected)"])
        }
        return (counts, done)
    }

    /// The row's records as messages. Ids are derived from the file's content and the line, so
    /// reading the same file again (after a crash before its checkpoint) repeats the same ids.
    func envelopes(for row: BillingExportRow, file: CSVDropFolder.DroppedFile) throws -> [KafkaProducerMessage] {
        let source = MessageSource(system: .csvDrop, name: sourceName)
        func message<Payload: MessagePayload>(_ payload: Payload, entity: String, key: String) throws -> KafkaProducerMessage {
            let id = UUID(derivedFrom: "\(file.contentHash)|\(row.line)|\(entity)")
            let envelope = MessageEnvelope(id: id, source: source, businessKey: key,
                                           correlationId: UUID(derivedFrom: "\(file.contentHash)|\(row.line)|\(entity)|lineage"),
                                           occurredAt: nil, payload: payload)
            return KafkaProducerMessage(topic: rawTopic(entity), key: Array(key.utf8), value: try contracts.encode(envelope))
        }
        var messages = [try message(row.account, entity: "account", key: row.account.customerId)]
        if let bill = row.bill { messages.append(try message(bill, entity: "bill", key: bill.customerId)) }
        if let premise = row.premise { messages.append(try message(premise, entity: "premise", key: premise.nmi)) }
        return messages
    }

    /// A rejected row as a dead letter: the row's text as the value, where it came from and why
    /// in the headers.
    func deadLetter(_ rejection: RowRejection, fields: [String], file: CSVDropFolder.DroppedFile) -> KafkaProducerMessage {
        let text = CSVText.row(fields)
        return ExtractorDeadLetter.message(topic: deadLetterTopic, key: "\(file.name):\(rejection.line)", value: Array(text.utf8),
                                           source: sourceName, origin: file.name, line: rejection.line, column: rejection.column,
                                           code: "csv.\(rejection.field)", reason: rejection.description)
    }
}

extension CSVDropExtraction: ExtractionSource {
    /// The content hashes of the files read.
    public struct Checkpoint: Codable, Sendable {
        public var files: [String]
    }

    public var kind: String { "csv-drop" }

    public func run(from checkpoint: Checkpoint?, producer: KafkaProducer, logger: Logger,
                    progress: @Sendable (Checkpoint) async throws -> Void) async throws -> ExtractionCounts {
        let processed = Set(checkpoint?.files ?? [])
        let (counts, done) = try await run(processed: processed, producer: producer, logger: logger)
        if !done.isEmpty { try await progress(Checkpoint(files: processed.union(done).sorted())) }
        return counts
    }
}
