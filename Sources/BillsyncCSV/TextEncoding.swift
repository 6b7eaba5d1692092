/// The character encodings billing exports come in, and exact conversion from each. Nothing is
/// ever replaced: a byte the encoding does not define is an error naming where it is.
public enum TextEncoding: String, Sendable, CaseIterable {
    /// UTF-8, with or without a byte-order mark.
    case utf8 = "utf-8"
    /// Windows' Western European code page, what a spreadsheet on Windows saves as "CSV".
    case windows1252 = "windows-1252"
    /// Latin-1: every byte is the character of the same number.
    case iso88591 = "iso-8859-1"
    /// UTF-16 with a byte-order mark (either byte order), transcoded to UTF-8 as it is read.
    case utf16 = "utf-16"

    /// A byte (or sequence) that is not text in the encoding: its index in the field.
    public struct Failure: Error, Sendable, Equatable {
        public let index: Int
        public let byte: UInt8
        public let reason: String
    }

    /// Whether the CSV reader sees UTF-8 (the source is transcoded before parsing).
    public var readsAsUTF8: Bool { self == .utf8 || self == .utf16 }

    /// A field's bytes as text. For UTF-16 the bytes have already been transcoded to UTF-8.
    public func decode(_ bytes: [UInt8]) -> Result<String, Failure> {
        switch self {
        case .utf8, .utf16:
            if let text = String(validating: bytes, as: UTF8.self) { return .success(text) }
            return .failure(Self.firstInvalidUTF8(bytes))
        case .iso88591:
            return .success(String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) })))
        case .windows1252:
            var scalars = String.UnicodeScalarView()
            for (index, byte) in bytes.enumerated() {
                guard (0x80...0x9F).contains(byte) else {
                    scalars.append(Unicode.Scalar(byte))
                    continue
                }
                let value = Self.windows1252High[Int(byte - 0x80)]
                guard value != 0, let scalar = Unicode.Scalar(value) else {
                    return .failure(Failure(index: index, byte: byte, reason: "is not a character in windows-1252"))
                }
                scalars.append(scalar)
            }
            return .success(String(scalars))
        }
    }

    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Failure {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var index = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case let .valid(scalar): index += scalar.count
            case let .error(length):
                return Failure(index: index, byte: bytes[index], reason: "is not valid UTF-8" + (length > 1 ? " (a truncated sequence)" : ""))
            case .emptyInput:
                return Failure(index: max(0, bytes.count - 1), byte: bytes.last ?? 0, reason: "is not valid UTF-8")
            }
        }
    }

    /// Windows-1252's characters for 0x80–0x9F; 0 where the code page defines none.
    static let windows1252High: [UInt32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
        0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
    ]

    /// Text written in this encoding (for the generator's dialects); nil when a character has
    /// no byte in it.
    public func encode(_ text: String) -> [UInt8]? {
        switch self {
        case .utf8: return Array(text.utf8)
        case .utf16:
            var bytes: [UInt8] = [0xFF, 0xFE]
            for unit in text.utf16 { bytes += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
            return bytes
        case .iso88591:
            var bytes: [UInt8] = []
            for scalar in text.unicodeScalars {
                guard scalar.value < 0x100 else { return nil }
                bytes.append(UInt8(scalar.value))
            }
            return bytes
        case .windows1252:
            var bytes: [UInt8] = []
            for scalar in text.unicodeScalars {
                if scalar.value < 0x80 || (0xA0..<0x100).contains(scalar.value) {
                    bytes.append(UInt8(scalar.value))
                } else if let index = Self.windows1252High.firstIndex(of: scalar.value), scalar.value != 0 {
                    bytes.append(UInt8(0x80 + index))
                } else {
                    return nil
                }
            }
            return bytes
        }
    }
}
