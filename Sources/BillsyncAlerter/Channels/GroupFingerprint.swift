/// A short fingerprint of a group key that is the same in every process and on every run
/// (Swift's `Hasher` is seeded per process, so it cannot be used): FNV-1a over the key's
/// UTF-8, 64 bits, as 16 hex digits. For identifiers derived from a group key that must stay
/// short or use few characters: a long PagerDuty `dedup_key`, an email thread's Message-ID.
enum GroupFingerprint {
    static func of(_ key: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
