import Foundation

/// Why a file's bytes could not be read: the disk, or an encoding the bytes do not follow.
public struct CSVSourceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset in the file where the problem is (0 for an I/O error).
    public let offset: Int
    public let reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { offset > 0 ? "byte offset \(offset): \(reason)" : reason }
}

/// Where a CSV reader's bytes come from, a chunk at a time, so a file of any size is read in
/// constant memory.
public protocol CSVByteSource {
    associatedtype Failure: Error
    /// The next bytes; empty at the end.
    mutating func nextChunk() throws(Failure) -> [UInt8]
}

/// Bytes already in memory (a Bulk API result, a test's text).
public struct InMemoryBytes: CSVByteSource {
    private var bytes: [UInt8]?

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public mutating func nextChunk() -> [UInt8] {
        defer { bytes = nil }
        return bytes ?? []
    }
}

/// A file read in chunks of `chunkSize` bytes. The handle is closed when the reader is done
/// with it (at the end, or when the value is dropped).
public struct FileBytes: CSVByteSource {
    private final class Handle {
        let handle: FileHandle
        init(_ handle: FileHandle) { self.handle = handle }
        deinit { try? handle.close() }
    }

    private let file: Handle
    public let chunkSize: Int

    public init(url: URL, chunkSize: Int = 64 * 1024) throws {
        file = Handle(try FileHandle(forReadingFrom: url))
        self.chunkSize = chunkSize
    }

    public mutating func nextChunk() throws(CSVSourceError) -> [UInt8] {
        do {
            guard let data = try file.handle.read(upToCount: chunkSize) else { return [] }
            return [UInt8](data)
        } catch {
            throw CSVSourceError(offset: 0, reason: "the file could not be read: \(error)")
        }
    }
}

/// UTF-16 with a byte-order mark, transcoded to UTF-8 as it is read, so the CSV reader sees
/// UTF-8 whichever way the source wrote it. A lone surrogate or a missing mark fails the file at
/// its byte offset; nothing is ever replaced.
public struct UTF16ToUTF8<Inner: CSVByteSource>: CSVByteSource where Inner.Failure == CSVSourceError {
    private var inner: Inner
    private var bigEndian: Bool?
    private var carry: [UInt8] = []
    private var pendingHigh: UInt16?
    private var offset = 0

    public init(_ inner: Inner) {
        self.inner = inner
    }

    public mutating func nextChunk() throws(CSVSourceError) -> [UInt8] {
        while true {
            let chunk = try inner.nextChunk()
            if chunk.isEmpty {
                guard carry.isEmpty, pendingHigh == nil else {
                    throw CSVSourceError(offset: offset, reason: "the file ends in the middle of a UTF-16 character")
                }
                return []
            }
            var bytes = carry + chunk
            carry = []
            if bigEndian == nil {
                guard bytes.count >= 2 else { carry = bytes; continue }
                switch (bytes[0], bytes[1]) {
                case (0xFF, 0xFE): bigEndian = false
                case (0xFE, 0xFF): bigEndian = true
                default: throw CSVSourceError(offset: 0, reason: "a UTF-16 file must start with a byte-order mark")
                }
                bytes.removeFirst(2)
                offset = 2
            }
            var output: [UInt8] = []
            output.reserveCapacity(bytes.count)
            var index = 0
            while index + 1 < bytes.count {
                let unit = bigEndian == true ? UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
                                             : UInt16(bytes[index + 1]) << 8 | UInt16(bytes[index])
                let at = offset + index
                index += 2
                if let high = pendingHigh {
                    guard (0xDC00...0xDFFF).contains(unit) else {
                        throw CSVSourceError(offset: at - 2, reason: "a UTF-16 high surrogate is not followed by a low one")
                    }
                    pendingHigh = nil
                    let scalar = 0x10000 + (UInt32(high - 0xD800) << 10) + UInt32(unit - 0xDC00)
                    Self.append(scalar, to: &output)
                } else if (0xD800...0xDBFF).contains(unit) {
                    pendingHigh = unit
                } else if (0xDC00...0xDFFF).contains(unit) {
                    throw CSVSourceError(offset: at, reason: "a UTF-16 low surrogate without a high one")
                } else {
                    Self.append(UInt32(unit), to: &output)
                }
            }
            offset += index
            carry = Array(bytes[index...])
            if !output.isEmpty { return output }
        }
    }

    /// A scalar (never a surrogate here) as UTF-8.
    static func append(_ scalar: UInt32, to output: inout [UInt8]) {
        switch scalar {
        case ..<0x80: output.append(UInt8(scalar))
        case ..<0x800: output += [UInt8(0xC0 | scalar >> 6), UInt8(0x80 | scalar & 0x3F)]
        case ..<0x10000: output += [UInt8(0xE0 | scalar >> 12), UInt8(0x80 | scalar >> 6 & 0x3F), UInt8(0x80 | scalar & 0x3F)]
        default: output += [UInt8(0xF0 | scalar >> 18), UInt8(0x80 | scalar >> 12 & 0x3F), UInt8(0x80 | scalar >> 6 & 0x3F), UInt8(0x80 | scalar & 0x3F)]
        }
    }
}
