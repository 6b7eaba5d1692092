/// Writes a `JSONValue` as compact UTF-8 JSON: numbers exactly as their text, object members in
/// their order, and only the escapes JSON requires (so a written message can be read back and
/// validated without surprises).
extension JSONValue {
    public func serialized() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(1024)
        write(into: &output)
        return output
    }

    public func write(into output: inout [UInt8]) {
        switch self {
        case .null: output.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(true): output.append(contentsOf: [0x74, 0x72, 0x75, 0x65])
        case .bool(false): output.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])
        case let .number(number): output.append(contentsOf: number.text.utf8)
        case let .string(string): Self.writeString(string, into: &output)
        case let .array(values):
            output.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                value.write(into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case let .object(object):
            output.append(UInt8(ascii: "{"))
            for index in object.keys.indices {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                Self.writeString(object.keys[index], into: &output)
                output.append(UInt8(ascii: ":"))
                object.values[index].write(into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string literal of `string`, quotes and escapes included.
    public static func writeString(_ string: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { bytes in
            // Runs that need no escape (almost all of a message) are copied whole.
            var runStart = 0
            while true {
                let index = ByteScan.firstSpecial(in: bytes, from: runStart, stopAtNonASCII: false)
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                guard index < bytes.count else { break }
                let byte = bytes[index]
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                               hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
                }
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
