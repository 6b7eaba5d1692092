import Logging
import Synchronization

/// Keeps every log entry of the loggers made from it, so a test can check what a component
/// said (a warning it must not give, an error it must name) instead of reading its output.
public final class CapturedLogs: Sendable {
    public struct Entry: Sendable {
        public let level: Logger.Level
        public let message: String
        public let metadata: Logger.Metadata
    }

    private let storage = Mutex<[Entry]>([])

    public init() {}

    public var entries: [Entry] { storage.withLock { $0 } }

    /// Entries at `level` or more severe.
    public func entries(atLeast level: Logger.Level) -> [Entry] { entries.filter { $0.level >= level } }

    /// A logger that records into this capture, at `level` and above.
    public func logger(label: String = "billsync.tests", level: Logger.Level = .debug) -> Logger {
        var logger = Logger(label: label) { _ in Handler(capture: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ entry: Entry) { storage.withLock { $0.append(entry) } }

    private struct Handler: LogHandler {
        let capture: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            capture.append(Entry(level: event.level, message: event.message.description,
                                 metadata: metadata.merging(event.metadata ?? [:]) { $1 }))
        }
    }
}
