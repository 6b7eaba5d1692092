import BillsyncBlocking
import Foundation
import Synchronization

/// Bulk API 2.0 ingest jobs of the emulated org. Each job follows `BulkIngestJob`'s state
/// machine. As in Salesforce, a closed job is processed asynchronously, off the request path: a
/// background queue takes closed jobs one at a time, in the order they were closed (a job waiting
/// its turn stays UploadComplete), and processes each in internal batches of
/// `internalBatchSize` records (Salesforce's own chunking), storing its progress after each batch
/// so a status poll answers at once with `numberRecordsProcessed` so far. An abort takes effect
/// at the next batch boundary; what was processed stays processed.
final class BulkIngestJobs: Sendable {
    enum JobValue: Encodable {
        case text(String)
        case number(Double)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case let .text(text): try container.encode(text)
            case let .number(number): try container.encode(number)
            }
        }
    }

    /// What a request about a job comes to.
    enum Answer {
        case job(BulkIngestJob)
        case notFound
        case refused(SalesforceError)
    }

    /// Records Salesforce processes together inside a job ("Bulk API 2.0 ... divides the data
    /// into internal batches of 10,000 records").
    static let internalBatchSize = 10_000

    /// The processing queue's bookkeeping.
    private struct Queue {
        var closed: [String] = []
        var draining = false
        /// Held by a test that wants to see a job queued; nothing is taken while held.
        var held = false
        var endWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
        /// Status polls stalled per job (the injected fault `bulkPollStalls`).
        var stalledPolls: [String: Int] = [:]
    }

    private let jobs = Mutex<[String: BulkIngestJob]>([:])
    private let queue = Mutex(Queue())
    private let sequence = Atomic<Int64>(1)
    private let processing: BulkIngestProcessing

    init(processing: BulkIngestProcessing) {
        self.processing = processing
    }

    func create(object: String, externalIdField: String, operation: String) -> BulkIngestJob {
        let id = SalesforceID.make(prefix: "750", sequence: sequence.add(1, ordering: .relaxed).oldValue)
        let job = BulkIngestJob(id: id, object: object, externalIdField: externalIdField, operation: operation)
        jobs.withLock { $0[id] = job }
        return job
    }

    func job(_ id: String) -> BulkIngestJob? { jobs.withLock { $0[id] } }

    /// Every job, oldest first.
    var all: [BulkIngestJob] { jobs.withLock { $0.values.sorted { $0.id < $1.id } } }

    /// Every job's id and state (read-back for tests, outside the emulated API).
    var states: [(id: String, state: String)] {
        jobs.withLock { $0.values.sorted { $0.id < $1.id }.map { ($0.id, $0.state.rawValue) } }
    }

    /// The job's one upload.
    func upload(_ id: String, data: [UInt8]) -> Answer {
        change(id) { job in
            if let refusal = job.refusalOfUpload() { return refusal }
            job.csv = data
            return nil
        }
    }

    /// Closes (UploadComplete: queued for processing) or aborts the job, when its state allows it.
    func setState(_ id: String, _ name: String) -> Answer {
        let answer = change(id) { job in
            guard let target = BulkIngestJob.State(rawValue: name) else { return job.refusalOfChange(to: .jobComplete) }
            if let refusal = job.refusalOfChange(to: target) { return refusal }
            job.state = target
            if target == .aborted {
                // Nothing of an aborted job is processed past the batch in hand: the rows not
                // yet processed are unprocessed.
                let uploaded = job.uploadedRows
                job.header = uploaded?.header ?? []
                job.unprocessed = Array((uploaded?.rows ?? []).dropFirst(job.successful.count + job.failed.count))
            }
            return nil
        }
        if case let .job(job) = answer {
            if job.state == .uploadComplete { enqueue(id) }
            if job.state == .aborted { resumeWaiters(of: id) }
        }
        return answer
    }

    /// Stops taking closed jobs (they stay UploadComplete) until `release()`: for tests that
    /// look at a queued job.
    func hold() { queue.withLock { $0.held = true } }

    /// Takes closed jobs again.
    func release() {
        let start = queue.withLock { queue -> Bool in
            queue.held = false
            guard !queue.draining, !queue.closed.isEmpty else { return false }
            queue.draining = true
            return true
        }
        if start { startDraining() }
    }

    /// Returns once the job has ended (at once when it has, or when there is no such job).
    func ended(_ id: String) async {
        await withCheckedContinuation { continuation in
            let waiting = queue.withLock { queue -> Bool in
                guard let job = job(id), !job.state.hasEnded else { return false }
                queue.endWaiters[id, default: []].append(continuation)
                return true
            }
            if !waiting { continuation.resume() }
        }
    }

    /// Whether this status poll of the job is one of the first `stalls`, answered late.
    func stallsPoll(_ id: String, stalls: Int) -> Bool {
        guard stalls > 0 else { return false }
        return queue.withLock { queue in
            let seen = queue.stalledPolls[id, default: 0]
            guard seen < stalls else { return false }
            queue.stalledPolls[id] = seen + 1
            return true
        }
    }

    /// Status polls answered late so far, over every job (read-back for tests).
    var stalledPolls: Int { queue.withLock { $0.stalledPolls.values.reduce(0, +) } }

    private func enqueue(_ id: String) {
        let start = queue.withLock { queue -> Bool in
            queue.closed.append(id)
            guard !queue.draining, !queue.held else { return false }
            queue.draining = true
            return true
        }
        if start { startDraining() }
    }

    private func startDraining() {
        Task.detached { [self] in
            while let id = nextClosed() {
                await BlockingWork.run { self.process(id) }
            }
        }
    }

    /// The next closed job to process, or nil (and the drain ends) when none waits or the queue
    /// is held.
    private func nextClosed() -> String? {
        queue.withLock { queue in
            guard !queue.held, !queue.closed.isEmpty else {
                queue.draining = false
                return nil
            }
            return queue.closed.removeFirst()
        }
    }

    /// Processes one closed job, batch by batch, storing its progress after each.
    private func process(_ id: String) {
        guard var job = job(id), job.state == .uploadComplete else { return }
        job.state = .inProgress
        guard store(job) else { return }
        defer { resumeWaiters(of: id) }
        guard let rows = processing.rows(of: &job) else {
            _ = store(job)
            return
        }
        for start in stride(from: 0, to: rows.count, by: Self.internalBatchSize) {
            let batch = rows[start..<min(start + Self.internalBatchSize, rows.count)]
            do {
                try processing.process(batch, remaining: rows[batch.endIndex...], into: &job)
            } catch {
                processing.fail(&job, "UNKNOWN_EXCEPTION : \(error)", processed: start)
            }
            if job.state == .failed { break }
            guard store(job) else { return }
        }
        if job.state == .inProgress { job.state = .jobComplete }
        // The upload is not needed once the job has ended (its results say what was processed).
        job.csv = nil
        _ = store(job)
    }

    /// Stores the job's progress unless it was aborted meanwhile (then the abort keeps its state
    /// and learns what was processed before it); returns whether processing may go on.
    private func store(_ progress: BulkIngestJob) -> Bool {
        jobs.withLock { jobs in
            guard var current = jobs[progress.id] else { return false }
            guard current.state == .aborted else {
                jobs[progress.id] = progress
                return true
            }
            let processed = progress.successful.count + progress.failed.count
            current.successful = progress.successful
            current.failed = progress.failed
            let uploaded = current.uploadedRows
            current.header = uploaded?.header ?? []
            current.unprocessed = Array((uploaded?.rows ?? []).dropFirst(processed))
            jobs[progress.id] = current
            return false
        }
    }

    private func resumeWaiters(of id: String) {
        let waiters = queue.withLock { $0.endWaiters.removeValue(forKey: id) ?? [] }
        for waiter in waiters { waiter.resume() }
    }

    private func change(_ id: String, _ body: (inout BulkIngestJob) -> SalesforceError?) -> Answer {
        jobs.withLock { jobs in
            guard var job = jobs[id] else { return .notFound }
            if let refusal = body(&job) { return .refused(refusal) }
            jobs[id] = job
            return .job(job)
        }
    }

    /// Salesforce's `sf__Error` format: `CODE:message:field,field --`.
    static func describe(_ errors: [SalesforceError]) -> String {
        errors.map { "\($0.errorCode):\($0.message):\($0.fields.joined(separator: ",")) --" }.joined(separator: " ")
    }

    static func resultsCSV(header: [String], rows: [[String]]) -> String {
        csvLine(header) + rows.map(csvLine).joined()
    }

    /// One row of a results CSV, every value quoted, ending in LF.
    static func csvLine(_ row: [String]) -> String {
        row.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: ",") + "\n"
    }
}
