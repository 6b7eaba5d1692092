import Foundation

/// Writes RFC 4180 CSV quickly: fields with the delimiter, quotes or line breaks are quoted, rows
/// are buffered and written in large chunks, in the encoding asked for.
public final class CSVFileWriter {
    private let handle: FileHandle
    private let lineEnd: String
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
        self.lineEnd = lineEnd
        self.delimiter = delimiter
        self.encoding = encoding
        buffer.reserveCapacity(1 << 20)
        if byteOrderMark, encoding == .utf8 { buffer += [0xEF, 0xBB, 0xBF] }
    }

    /// One row: a field with the delimiter, a quote or a line break is quoted, its quotes doubled.
    public func writeRow(_ fields: [String]) {
        var text = ""
        for (index, field) in fields.enumerated() {
            if index > 0 { text.unicodeScalars.append(Unicode.Scalar(delimiter)) }
            if field.utf8.contains(where: { $0 == delimiter || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) {
                line += field.utf8.filter { $0 == 0x0A }.count
                text += "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            } else {
                text += field
            }
        }
        text += lineEnd
        line += 1
        switch encoding {
        case .utf8: buffer += text.utf8
        case .utf16:
            // The mark once, at the start of the file.
            guard let bytes = encoding.encode(text) else { preconditionFailure("UTF-16 holds every character") }
            if !wroteMark { buffer += [0xFF, 0xFE] }
            wroteMark = true
            buffer += bytes.dropFirst(2)
        case .windows1252, .iso88591:
            // The generator writes only text these encodings hold; anything else is a bug in it,
            // not data to lose quietly.
            guard let bytes = encoding.encode(text) else { preconditionFailure("\(text) cannot be written in \(encoding.rawValue)") }
            buffer += bytes
        }
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
