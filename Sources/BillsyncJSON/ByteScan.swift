/// Finding where a run of string bytes that need no work ends, eight bytes at a time: the
/// reader and the writer pass over every byte of every string of every message.
enum ByteScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether any byte of `word` is below `limit` (at most 0x80).
    @inline(__always)
    private static func hasByte(below limit: UInt64, in word: UInt64) -> Bool {
        (word &- ones &* limit) & ~word & highBits != 0
    }

    @inline(__always)
    private static func hasByte(equalTo byte: UInt64, in word: UInt64) -> Bool {
        hasByte(below: 1, in: word ^ (ones &* byte))
    }

    /// The index of the first byte from `start` that is a control character, a quote or a
    /// backslash, or (with `stopAtNonASCII`) not ASCII; `bytes.count` if there is none.
    @inline(__always)
    static func firstSpecial(in bytes: UnsafeBufferPointer<UInt8>, from start: Int, stopAtNonASCII: Bool) -> Int {
        var index = start
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while index + 8 <= bytes.count {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if hasByte(below: 0x20, in: word) || hasByte(equalTo: 0x22, in: word) || hasByte(equalTo: 0x5C, in: word)
                    || (stopAtNonASCII && word & highBits != 0) {
                    break
                }
                index += 8
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || (stopAtNonASCII && byte >= 0x80) { return index }
            index += 1
        }
        return index
    }
}
