import BillsyncCSV
import COpenSSL
import Foundation

/// A folder billing exports are dropped into. Each file is read once, recognised by the hash of
/// its content (a file copied in twice, under any name, is read once), then moved to
/// `processed/`, or to `failed/` with a `.reason` file beside it when it cannot be read at all.
public struct CSVDropFolder: Sendable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    public var processedDirectory: URL { directory.appendingPathComponent("processed", isDirectory: true) }
    public var failedDirectory: URL { directory.appendingPathComponent("failed", isDirectory: true) }

    /// A file waiting to be read.
    public struct DroppedFile: Sendable, Hashable {
        public let url: URL
        public let name: String
        /// SHA-256 of the content, hex: what "already processed" is decided by.
        public let contentHash: String
        public let bytes: [UInt8]
    }

    /// `.csv` files in the folder, oldest name first, that are not among `alreadyProcessed`.
    public func pendingFiles(alreadyProcessed: Set<String>) throws -> (pending: [DroppedFile], duplicates: [URL]) {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.lowercased().hasSuffix(".csv") }
            .sorted()
        var pending: [DroppedFile] = []
        var duplicates: [URL] = []
        var seen = alreadyProcessed
        for name in names {
            let url = directory.appendingPathComponent(name)
            let bytes = [UInt8](try Data(contentsOf: url))
            let hash = Self.sha256(bytes)
            if seen.contains(hash) {
                duplicates.append(url)
            } else {
                seen.insert(hash)
                pending.append(DroppedFile(url: url, name: name, contentHash: hash, bytes: bytes))
            }
        }
        return (pending, duplicates)
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

    /// SHA-256 of `bytes` in hex, with libcrypto.
    static func sha256(_ bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = bytes.withUnsafeBufferPointer { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        return digest.prefix(Int(length)).map { String(format: "%02x", $0) }.joined()
    }
}
