import Foundation

/// Writes RFC 4180 CSV quickly: fields with commas, quotes or line breaks are quoted, rows are
/// buffered and written in large chunks.
public final class CSVFileWriter {
    private let handle: FileHandle
    private let lineEnd: [UInt8]
    private var buffer: [UInt8] = []
    /// The 1-based line the next row starts on.
    public private(set) var line = 1

    public init(url: URL, lineEnd: String, byteOrderMark: Bool) throws {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: 0)
        self.lineEnd = Array(lineEnd.utf8)
        buffer.reserveCapacity(1 << 20)
        if byteOrderMark { buffer += [0xEF, 0xBB, 0xBF] }
    }

    public func writeRow(_ fields: [String]) {
        for (index, field) in fields.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            let bytes = field.utf8
            if bytes.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) {
                buffer.append(UInt8(ascii: "\""))
                for byte in bytes {
                    if byte == UInt8(ascii: "\"") { buffer.append(byte) }
                    if byte == 0x0A { line += 1 }
                    buffer.append(byte)
                }
                buffer.append(UInt8(ascii: "\""))
            } else {
                buffer.append(contentsOf: bytes)
            }
        }
        buffer.append(contentsOf: lineEnd)
        line += 1
        if buffer.count >= 1 << 20 { flush() }
    }

    private func flush() {
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    public func close() throws {
        flush()
        try handle.close()
    }
}
