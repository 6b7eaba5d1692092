import BillsyncContracts
import BillsyncCSV
import BillsyncJSON
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

/// One pass over a CSV drop folder: each new file is read by the source its name matches in the
/// source mapping file, streamed row by row into canonical records on the raw topics; a refused
/// row becomes a dead letter carrying the row as written, with its file, line, column and
/// reason; the file is filed away only once the broker acknowledged everything it produced.
public struct CSVDropExtraction: Sendable {
    public var folder: CSVDropFolder
    public var mappings: SourceMappingDocument
    /// The configured source's name, in each message's `source.name`.
    public var sourceName: String
    /// `billsync.raw.<entity>` by default.
    public var rawTopic: @Sendable (String) -> String
    public var deadLetterTopic: String
    public let contracts: MessageContracts
    /// Messages sent to the broker at a time: what bounds memory on a file of any size.
    public var batchSize = 2_000
    /// Waits for files still being written before the pass ends (a run with `--schedule once`);
    /// otherwise they are left for the next pass.
    public var waitsForFilesInProgress = false

    public init(folder: CSVDropFolder, mappings: SourceMappingDocument, sourceName: String, contracts: MessageContracts,
                topicPrefix: String = "billsync") {
        self.folder = folder
        self.mappings = mappings
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
        var known = processed
        while true {
            let scan = try folder.scan(alreadyProcessed: known)
            for duplicate in scan.duplicates {
                logger.info("file already read (same content); filing it away", metadata: ["billsync.file": "\(duplicate.lastPathComponent)"])
                try folder.markProcessed(duplicate, hash: "dup-\(UUID().uuidString.prefix(8))")
            }
            for file in scan.pending {
                if try await read(file, producer: producer, counts: &counts, logger: logger) {
                    done.append(file.contentHash)
                    known.insert(file.contentHash)
                }
            }
            let settling = scan.inProgress.filter { name in !name.hasPrefix(".") && !CSVDropFolder.inProgressSuffixes.contains { name.lowercased().hasSuffix($0) } }
            if !scan.inProgress.isEmpty {
                logger.info("files still being written are left until complete", metadata: ["billsync.files": "\(scan.inProgress)"])
            }
            guard waitsForFilesInProgress, !settling.isEmpty else { break }
            try await Task.sleep(for: .milliseconds(Int(folder.settle * 1000) + 100))
        }
        return (counts, done)
    }

    /// Reads one file; false when it could not be read at all (it is then in `failed/`).
    func read(_ file: CSVDropFolder.DroppedFile, producer: KafkaProducer, counts: inout ExtractionCounts, logger: Logger) async throws -> Bool {
        func fail(_ reason: String) throws -> Bool {
            logger.error("file cannot be read", metadata: ["billsync.file": "\(file.name)", "billsync.reason": "\(reason)"])
            try folder.markFailed(file.url, hash: file.contentHash, reason: reason)
            counts.failedFiles += 1
            return false
        }
        guard let source = mappings.source(forFile: file.name) else {
            return try fail("no source in the source mapping file reads \(file.name) (patterns: \(mappings.sources.flatMap(\.files).joined(separator: ", ")))")
        }
        var fileCounts = ExtractionCounts()
        do {
            var reader = try SourceFileReader(url: file.url, name: file.name, source: source)
            try await publish(&reader, file: file, producer: producer, counts: &fileCounts)
        } catch let rejection as RowRejection {
            return try fail(rejection.description)
        } catch let error as CSVSourceError {
            // Rows before the failure may have been published; their ids are derived from the
            // file's content and line, so fixing the file and dropping it again repeats none.
            counts.read += fileCounts.read
            counts.published += fileCounts.published
            counts.rejected += fileCounts.rejected
            return try fail("\(file.name): \(error.description)")
        }
        try folder.markProcessed(file.url, hash: file.contentHash)
        counts.read += fileCounts.read
        counts.published += fileCounts.published
        counts.rejected += fileCounts.rejected
        counts.files += 1
        logger.info("file read", metadata: ["billsync.file": "\(file.name)", "billsync.source": "\(source.name)",
                                            "billsync.read": "\(fileCounts.read)", "billsync.published": "\(fileCounts.published)",
                                            "billsync.rejected": "\(fileCounts.rejected)"])
        return true
    }

    /// Streams the file's rows to the broker in batches; returns once every message is acknowledged.
    func publish(_ reader: inout SourceFileReader, file: CSVDropFolder.DroppedFile, producer: KafkaProducer,
                 counts: inout ExtractionCounts) async throws {
        var messages: [KafkaProducerMessage] = []
        messages.reserveCapacity(batchSize + 8)
        while let next = try reader.next() {
            counts.read += 1
            switch next {
            case let .refused(rejection, row):
                messages.append(deadLetter(rejection, row: row, file: file))
                counts.rejected += 1
            case let .records(records, row):
                do {
                    let published = try records.map { try message(for: $0, row: row, file: file) }
                    messages += published
                    counts.published += published.count
                } catch let violation as ContractViolation {
                    // The row mapped, but a value breaks the raw contract: the whole row is
                    // refused (none of its records published), naming the column it came from.
                    let path = violation.pointer.map { Self.path(of: $0.description) } ?? ""
                    let location = reader.mapper.location(ofPath: path)
                    let rejection = RowRejection(file: file.name, line: row.line, column: location?.column ?? 0,
                                                 field: location?.name ?? (path.isEmpty ? "(row)" : path),
                                                 reason: "\(violation.description)\(path.isEmpty ? "" : " → \(path)")")
                    messages.append(deadLetter(rejection, row: row.bytes, file: file, code: violation.code))
                    counts.rejected += 1
                }
            }
            if messages.count >= batchSize {
                _ = try await producer.sendAll(messages)
                messages.removeAll(keepingCapacity: true)
            }
        }
        if !messages.isEmpty { _ = try await producer.sendAll(messages) }
    }

    /// `/payload/primaryAddress/postcode` → `primaryAddress.postcode`.
    static func path(of pointer: String) -> String {
        pointer.split(separator: "/").dropFirst().joined(separator: ".")
    }

    /// A record of a row as a raw message. Ids are derived from the file's content and the line,
    /// so reading the same file again (after a crash before its checkpoint) repeats the same ids.
    /// The file, line and row travel in the headers: a dead letter further down the fleet still
    /// holds the row it came from.
    func message(for record: ExportRecord, row: CSVRawRecord, file: CSVDropFolder.DroppedFile) throws -> KafkaProducerMessage {
        let id = UUID(derivedFrom: "\(file.contentHash)|\(row.line)|\(record.entity)")
        var envelope = MessageEnvelope(id: id, source: MessageSource(system: .csvDrop, name: sourceName), businessKey: record.key,
                                       correlationId: UUID(derivedFrom: "\(file.contentHash)|\(row.line)|\(record.entity)|lineage"),
                                       occurredAt: nil, payload: AnyBillingRecord(fields: record.payload))
        envelope.type = record.type
        return KafkaProducerMessage(topic: rawTopic(record.entity), key: Array(record.key.utf8), value: try contracts.encode(envelope),
                                    headers: [KafkaHeader(name: StageHeaders.originFile, value: Array(file.name.utf8)),
                                              KafkaHeader(name: StageHeaders.originLine, value: Array(String(row.line).utf8)),
                                              KafkaHeader(name: StageHeaders.originRow, value: row.bytes)])
    }

    /// A refused row as a dead letter: the row's bytes as the file had them as the value (and in
    /// the row header, as at every other stage), where it came from and why in the headers.
    func deadLetter(_ rejection: RowRejection, row: [UInt8], file: CSVDropFolder.DroppedFile, code: String? = nil) -> KafkaProducerMessage {
        var message = ExtractorDeadLetter.message(topic: deadLetterTopic, key: "\(file.name):\(rejection.line)", value: row,
                                                  source: sourceName, origin: file.name, line: rejection.line, column: rejection.column,
                                                  code: code ?? "csv.\(rejection.field)", reason: rejection.description)
        message.headers.append(KafkaHeader(name: StageHeaders.originRow, value: row))
        return message
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
