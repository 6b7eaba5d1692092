import BillsyncContracts
import BillsyncKafka
import Foundation
import Logging

/// One configured source of billing data, read in passes. A pass publishes what changed since
/// its checkpoint; after each part the broker acknowledged (a page, a file) it hands the
/// checkpoint reached to `progress`, which stores it: a restart neither skips nor repeats a part.
public protocol ExtractionSource: Sendable {
    associatedtype Checkpoint: Codable & Sendable
    /// `csv-drop`, `billing-api` or `sql`: with the name, the checkpoint's key.
    var kind: String { get }
    /// The configured source's name, in every message's `source.name` and in its run summary.
    var sourceName: String { get }
    func run(from checkpoint: Checkpoint?, producer: KafkaProducer, logger: Logger,
             progress: @Sendable (Checkpoint) async throws -> Void) async throws -> ExtractionCounts
}

extension ExtractionSource {
    public var checkpointKey: String { "extractor/\(kind)/\(sourceName)" }
}

/// A date range to extract again (a backfill), leaving the sources' checkpoints where they are.
public struct BackfillWindow: Sendable, Equatable {
    /// Inclusive, RFC 3339.
    public var from: String
    /// Exclusive, RFC 3339.
    public var until: String

    public init(from: String, until: String) {
        self.from = from
        self.until = until
    }
}
