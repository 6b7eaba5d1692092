import BillsyncContracts

/// A short fingerprint of a group key that is the same in every process and on every run
/// (Swift's `Hasher` is seeded per process, so it cannot be used): FNV-1a over the key's
/// UTF-8, 64 bits, as 16 hex digits. For identifiers derived from a group key that must stay
/// short or use few characters: a long PagerDuty `dedup_key`, an email thread's Message-ID.
enum GroupFingerprint {
    static func of(_ key: String) -> String { StableHash.hex(StableHash.fnv1a(key)) }
}
