import BillsyncContracts
import BillsyncCSV
import BillsyncKafka
import BillsyncTopics
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

/// One pass over a CSV drop folder: each new file's rows become raw billing messages (accounts,
/// bills and premises from an account export, readings from a meter-reading export, told apart
/// by the header), bad rows become dead letters naming file, line and column, and the file is
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
        let catalog = TopicCatalog(prefix: topicPrefix)
        rawTopic = { catalog.rawTopic($0) }
        deadLetterTopic = catalog.deadLetterTopic(stage: .extractor)
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
            let mapping: any CSVExportMapping
            do {
                guard case let .success(header)? = reader.next() else {
                    throw RowRejection(file: file.name, line: 1, column: 0, field: "(header)", reason: "the file has no header row")
                }
                mapping = try CSVExportFormat.mapping(header: header, file: file.name)
            } catch let rejection as RowRejection {
                logger.error("file cannot be read", metadata: ["billsync.file": "\(file.name)", "billsync.reason": "\(rejection.reason)"])
                try folder.markFailed(file.url, hash: file.contentHash, reason: rejection.description)
                counts.failedFiles += 1
                continue
            }
            var messages: [KafkaProducerMessage] = []
            while let next = reader.next() {
                counts.read += 1
                let line: Int
                let records: [ExportRecord]
                switch next {
                case let .success(record):
                    line = record.line
                    switch mapping.records(of: record) {
                    case let .success(mapped): records = mapped
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
                    let published = try records.map { try message(for: $0, line: line, file: file) }
                    messages += published
                    counts.published += published.count
                } catch let violation as ContractViolation {
                    // The mapping read the row but its values break the raw contract (a value the
                    // mapping does not check): rejected like any other bad row, never a stopped run.
                    messages.append(deadLetter(RowRejection(file: file.name, line: line, column: 0,
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

    /// A record of a row as a raw message. Ids are derived from the file's content and the line,
    /// so reading the same file again (after a crash before its checkpoint) repeats the same ids.
    /// The file and line travel in the headers: a dead letter further down the fleet still says
    /// which row of which file it came from.
    func message(for record: ExportRecord, line: Int, file: CSVDropFolder.DroppedFile) throws -> KafkaProducerMessage {
        func encoded<Payload: MessagePayload>(_ payload: Payload) throws -> [UInt8] {
            let id = UUID(derivedFrom: "\(file.contentHash)|\(line)|\(record.entity)")
            let envelope = MessageEnvelope(id: id, source: MessageSource(system: .csvDrop, name: sourceName), businessKey: record.key,
                                           correlationId: UUID(derivedFrom: "\(file.contentHash)|\(line)|\(record.entity)|lineage"),
                                           occurredAt: nil, payload: payload)
            return try contracts.encode(envelope)
        }
        return KafkaProducerMessage(topic: rawTopic(record.entity), key: Array(record.key.utf8), value: try encoded(record.payload),
                                    headers: [KafkaHeader(name: StageHeaders.originFile, value: Array(file.name.utf8)),
                                              KafkaHeader(name: StageHeaders.originLine, value: Array(String(line).utf8))])
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
