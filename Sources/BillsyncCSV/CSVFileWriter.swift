import Foundation

/// Writes RFC 4180 CSV quickly: fields with the delimiter, quotes or line breaks are quoted, rows
/// are buffered and written in large chunks, in the encoding asked for.
public final class CSVFileWriter {
    private let handle: FileHandle
    private let lineEnd: [UInt8]
    private let delimiter: UInt8
    private let encoding: TextEncoding
    private var buffer: [UInt8] = []
    /// The 1-based line the next row starts on.
    public private(set) var line = 1

    /// A UTF-16 file always starts with its byte-order mark; `byteOrderMark` is UTF-8's.
    public init(url: URL, lineEnd: String, byteOrderMark: Bool, delimiter: UInt8 = UInt8(ascii: ","), encoding: TextEncoding = .utf8) throws {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: 0)
        self.lineEnd = Array(lineEnd.utf8)
        self.delimiter = delimiter
        self.encoding = encoding
        buffer.reserveCapacity(1 << 20)
        if byteOrderMark, encoding == .utf8 { buffer += [0xEF, 0xBB, 0xBF] }
    }

    public func writeRow(_ fields: [String]) {
        guard encoding == .utf8 else { return writeEncodedRow(fields) }
        for (index, field) in fields.enumerated() {
            if index > 0 { buffer.append(delimiter) }
            let bytes = field.utf8
            if bytes.contains(where: { $0 == delimiter || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) {
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

    /// Another encoding: the row is built as text, then converted (a character the encoding
    /// cannot hold is a programming error in the generator, not data to lose quietly).
    private func writeEncodedRow(_ fields: [String]) {
        let separator = String(UnicodeScalar(delimiter))
        let text = fields.map { field in
            guard field.contains(where: { String($0) == separator || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return field }
            line += field.filter { $0 == "\n" || $0 == "\r\n" }.count
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }.joined(separator: separator) + String(decoding: lineEnd, as: UTF8.self)
        guard var bytes = encoding.encode(text) else { preconditionFailure("\(text) cannot be written in \(encoding.rawValue)") }
        if encoding == .utf16 {
            // The mark once, at the start of the file.
            bytes.removeFirst(2)
            if !wroteMark { buffer += [0xFF, 0xFE] }
            wroteMark = true
        }
        buffer += bytes
        line += 1
        if buffer.count >= 1 << 20 { flush() }
    }

    private var wroteMark = false

    private func flush() {
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    public func close() throws {
        flush()
        try handle.close()
    }
}
