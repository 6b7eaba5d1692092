import BillsyncCSV
import Crypto
import Foundation

/// A folder billing exports are dropped into. Each file is read once, recognised by the hash of
/// its content (a file copied in twice, under any name, is read once), then moved to
/// `processed/`, or to `failed/` with a `.reason` file beside it when it cannot be read at all.
///
/// A file still being written is left alone: a name ending `.part`, `.tmp`, `.partial` or
/// `.filepart` (what copy tools write to before renaming), a hidden name, or a file modified
/// within the last `settle` interval (a writer that appends in place).
public struct CSVDropFolder: Sendable {
    public let directory: URL
    /// How long a file must have been unchanged before it is read.
    public var settle: TimeInterval

    public static let inProgressSuffixes = [".part", ".tmp", ".partial", ".filepart", ".crdownload"]

    public init(directory: URL, settle: TimeInterval = 0) {
        self.directory = directory
        self.settle = settle
    }

    public var processedDirectory: URL { directory.appendingPathComponent("processed", isDirectory: true) }
    public var failedDirectory: URL { directory.appendingPathComponent("failed", isDirectory: true) }

    /// A file waiting to be read.
    public struct DroppedFile: Sendable, Hashable {
        public let url: URL
        public let name: String
        /// SHA-256 of the content, hex: what "already processed" is decided by.
        public let contentHash: String
        public let size: Int
    }

    public struct Scan: Sendable {
        public var pending: [DroppedFile] = []
        /// Files whose content was read before, under this name or another.
        public var duplicates: [URL] = []
        /// Files still being written (by name or by a recent change), left for a later pass.
        public var inProgress: [String] = []
        /// Those of them changed within the settle interval: a wait of that long may see them complete.
        public var settling: [String] = []
        /// Files that could not be read to be hashed (permissions, I/O), with why: left in place.
        public var unreadable: [(name: String, reason: String)] = []
    }

    /// The files in the folder, oldest name first, that are not among `alreadyProcessed`. Each is
    /// hashed as a stream: a file of any size in constant memory.
    public func scan(alreadyProcessed: Set<String>, now: Date = Date()) throws -> Scan {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        var scan = Scan()
        var seen = alreadyProcessed
        for name in names {
            let url = directory.appendingPathComponent(name)
            let lowered = name.lowercased()
            if name.hasPrefix(".") || Self.inProgressSuffixes.contains(where: lowered.hasSuffix) {
                scan.inProgress.append(name)
                continue
            }
            // A file renamed or removed since the listing (a writer finishing) is simply gone.
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
                  attributes[.type] as? FileAttributeType == .typeRegular else { continue }
            if let modified = attributes[.modificationDate] as? Date, now.timeIntervalSince(modified) < settle {
                scan.inProgress.append(name)
                scan.settling.append(name)
                continue
            }
            let hash: String
            do {
                hash = try Self.sha256(of: url)
            } catch {
                scan.unreadable.append((name, "\(error)"))
                continue
            }
            if seen.contains(hash) {
                scan.duplicates.append(url)
            } else {
                seen.insert(hash)
                scan.pending.append(DroppedFile(url: url, name: name, contentHash: hash, size: (attributes[.size] as? Int) ?? 0))
            }
        }
        return scan
    }

    /// Moves a read file to `processed/` (a name already there gets the hash as a suffix).
    public func markProcessed(_ file: URL, hash: String) throws {
        try move(file, to: processedDirectory, hash: hash)
    }

    /// Moves an unreadable file to `failed/` and writes why next to it.
    public func markFailed(_ file: URL, hash: String, reason: String) throws {
        let destination = try move(file, to: failedDirectory, hash: hash)
        try Data((reason + "\n").utf8).write(to: destination.appendingPathExtension("reason"))
    }

    @discardableResult
    private func move(_ file: URL, to folder: URL, hash: String) throws -> URL {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var destination = folder.appendingPathComponent(file.lastPathComponent)
        if FileManager.default.fileExists(atPath: destination.path) {
            destination = folder.appendingPathComponent("\(file.deletingPathExtension().lastPathComponent)-\(hash.prefix(12)).\(file.pathExtension)")
        }
        try FileManager.default.moveItem(at: file, to: destination)
        return destination
    }

    /// SHA-256 of a file's content in hex, read in chunks (swift-crypto).
    static func sha256(of url: URL) throws -> String {
        var hash = SHA256()
        var source = try FileBytes(url: url, chunkSize: 1 << 20)
        while case let chunk = try source.nextChunk(), !chunk.isEmpty {
            hash.update(data: chunk)
        }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
