import Foundation

/// A message id's text without Foundation's formatter and parser, which on Linux go through
/// `sprintf` and `sscanf`: every message decoded and written carries three ids, and those calls
/// were a visible share of the transformer's time. Same text as `uuidString` (upper case) and
/// the same acceptance as `UUID(uuidString:)` (8-4-4-4-12 hex digits, either case).
extension UUID {
    public var text: String {
        let digits: [UInt8] = Array("0123456789ABCDEF".utf8)
        return String(unsafeUninitializedCapacity: 36) { buffer in
            withUnsafeBytes(of: uuid) { bytes in
                var position = 0
                for (index, byte) in bytes.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        buffer[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    buffer[position] = digits[Int(byte >> 4)]
                    buffer[position + 1] = digits[Int(byte & 0x0f)]
                    position += 2
                }
            }
            return 36
        }
    }

    public init?(text: String) {
        var text = text
        let parsed: uuid_t? = text.withUTF8 { utf8 in
            guard utf8.count == 36 else { return nil }
            var bytes = [UInt8](repeating: 0, count: 16)
            var position = 0
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    guard utf8[position] == UInt8(ascii: "-") else { return nil }
                    position += 1
                }
                guard let high = Self.hexValue(utf8[position]), let low = Self.hexValue(utf8[position + 1]) else { return nil }
                bytes[index] = high << 4 | low
                position += 2
            }
            return (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                    bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15])
        }
        guard let parsed else { return nil }
        self.init(uuid: parsed)
    }

    private static func hexValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
