import BillsyncBlocking
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

    public mutating func add(_ other: ExtractionCounts) {
        read += other.read
        published += other.published
        rejected += other.rejected
        files += other.files
        failedFiles += other.failedFiles
    }
}

/// One pass over a CSV drop folder: each new file is read by the source its name matches in the
/// source mapping file, streamed row by row into canonical records on the raw topics; a refused
/// row becomes a dead letter carrying the row as written, with its file, line, column and
/// reason; the file is filed away only once the broker acknowledged everything it produced.
public struct CSVDropExtraction: Sendable {
    public var folder: CSVDropFolder
    public var mappings: SourceMappingDocument
    /// The configured source's name, in each message's `source.name`.
    public let sourceName: String
    public let contracts: MessageContracts
    /// Builds the raw messages (`<prefix>.raw.<entity>`) and dead letters (`<prefix>.extractor.dlq`).
    let publisher: RawPublisher
    /// Messages sent to the broker at a time: what bounds memory on a file of any size.
    public var batchSize = 500
    /// Waits for files still being written before the pass ends (a run with `--schedule once`);
    /// otherwise they are left for the next pass.
    public var waitsForFilesInProgress = false
    /// What that wait runs on; tests pass a clock they advance.
    public var clock: any Clock<Duration> = ContinuousClock()

    public init(folder: CSVDropFolder, mappings: SourceMappingDocument, sourceName: String, contracts: MessageContracts,
                topicPrefix: String = "billsync") {
        self.folder = folder
        self.mappings = mappings
        self.sourceName = sourceName
        self.contracts = contracts
        publisher = RawPublisher(contracts: contracts, system: .csvDrop, sourceName: sourceName, topicPrefix: topicPrefix)
    }

    /// Reads every file not in `processed` (content hashes); returns the counts and the hashes of
    /// the files now done, for the caller to checkpoint.
    public func run(processed: Set<String>, producer: KafkaProducer, logger: Logger) async throws -> (counts: ExtractionCounts, done: [String]) {
        var counts = ExtractionCounts()
        var done: [String] = []
        var known = processed
        while true {
            let scan = try await BlockingWork.run { [folder, known] in try folder.scan(alreadyProcessed: known) }
            for (name, reason) in scan.unreadable {
                logger.error("file cannot be read; it is left in place", metadata: ["billsync.file": "\(name)", "billsync.reason": "\(reason)"])
                counts.failedFiles += 1
            }
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
            if !scan.inProgress.isEmpty {
                logger.info("files still being written are left until complete", metadata: ["billsync.files": "\(scan.inProgress)"])
            }
            guard waitsForFilesInProgress, !scan.settling.isEmpty else { break }
            try await clock.sleep(for: .milliseconds(Int(folder.settle * 1000) + 100))
        }
        return (counts, done)
    }

    /// Reads one file; false when it could not be read at all (it is then in `failed/`). Rows are
    /// read and mapped off Swift's cooperative threads, a batch at a time, and each batch is
    /// acknowledged by the broker before the next is read.
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
        let reader: FileRows
        do {
            reader = try await BlockingWork.run { FileRows(try SourceFileReader(url: file.url, name: file.name, source: source)) }
        } catch let rejection as RowRejection {
            return try fail(rejection.description)
        } catch let error as CSVSourceError {
            return try fail("\(file.name): \(error.description)")
        }
        // A misspelt column looks exactly like an empty one: what the header lacks is said per file.
        let unmatched = reader.unmatchedColumns
        if !unmatched.isEmpty {
            logger.warning("columns the source mapping names are not in the file's header; their fields stay empty", metadata: [
                "billsync.file": "\(file.name)", "billsync.source": "\(source.name)", "billsync.columns": "\(unmatched)",
                "billsync.records-not-read": "\(reader.recordTypesWithoutColumn.map(\.rawValue))",
            ])
        }
        var fileCounts = ExtractionCounts()
        var failure: CSVSourceError?
        while true {
            let batch = await BlockingWork.run { [self] in nextBatch(reader, file: file) }
            // Whatever was read before a failure is still sent: its rows are not read again
            // under the same ids unless the same file is dropped again.
            if !batch.messages.isEmpty { _ = try await producer.sendAll(batch.messages) }
            fileCounts.add(batch.counts)
            if let error = batch.failure { failure = error; break }
            if batch.ended { break }
        }
        counts.add(fileCounts)
        if let failure { return try fail("\(file.name): \(failure.description)") }
        try folder.markProcessed(file.url, hash: file.contentHash)
        counts.files += 1
        logger.info("file read", metadata: ["billsync.file": "\(file.name)", "billsync.source": "\(source.name)",
                                            "billsync.read": "\(fileCounts.read)", "billsync.published": "\(fileCounts.published)",
                                            "billsync.rejected": "\(fileCounts.rejected)"])
        return true
    }

    /// A file's reader, handed between the blocking queue's threads but used by one at a time.
    final class FileRows: @unchecked Sendable {
        var reader: SourceFileReader
        init(_ reader: SourceFileReader) { self.reader = reader }
        var unmatchedColumns: [String] { reader.mapper.unmatchedColumns }
        var recordTypesWithoutColumn: [MessageType] { reader.mapper.recordTypesWithoutColumn }
    }

    struct Batch: Sendable {
        var messages: [KafkaProducerMessage] = []
        var counts = ExtractionCounts()
        var ended = false
        var failure: CSVSourceError?
    }

    /// Up to `batchSize` messages from the next rows (blocking: reads the file).
    func nextBatch(_ rows: FileRows, file: CSVDropFolder.DroppedFile) -> Batch {
        var batch = Batch()
        batch.messages.reserveCapacity(batchSize + 8)
        while batch.messages.count < batchSize {
            let next: SourceFileReader.Row?
            do {
                next = try rows.reader.next()
            } catch {
                batch.failure = error
                return batch
            }
            guard let next else {
                batch.ended = true
                return batch
            }
            let prepared: RawPublisher.Prepared
            switch next {
            case let .refused(rejection, bytes):
                prepared = publisher.prepare(.failure(rejection), origin: origin(line: rejection.line, bytes: bytes, file: file))
            case let .records(records, row):
                let mapper = rows.reader.mapper
                prepared = publisher.prepare(.success(records), origin: origin(line: row.line, bytes: row.bytes, file: file),
                                             locate: mapper.location(ofPath:), columns: { mapper.columnsHeaders[$0] })
            }
            prepared.count(into: &batch.counts)
            batch.messages += prepared.messages
        }
        return batch
    }

    /// A row's origin. Its ids derive from the file's name, the line and the row's own bytes:
    /// reading the same file again (after a crash before its checkpoint) repeats the same ids.
    func origin(line: Int, bytes: [UInt8], file: CSVDropFolder.DroppedFile) -> RecordOrigin {
        RecordOrigin(name: file.name, line: line, bytes: bytes, identity: "csv|\(file.name)|\(line)|\(Self.fingerprint(bytes))")
    }

    /// FNV-1a, 64 bits, in hex: a row's fingerprint within its file and line.
    static func fingerprint(_ bytes: [UInt8]) -> String {
        String(bytes.withUnsafeBytes { StableHash.fnv1a($0) }, radix: 16)
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
