import BillsyncJSON

/// What the transformer's change suppression and the loader's load results agree on about one
/// upsert: the record it writes, the fields it sets on that record, and what it sets them to.
///
/// Computed from the upsert's canonical JSON (fields sorted, decimals written exactly) with
/// 64-bit FNV-1a, so every process, whatever its hash seed, derives the same figures from the
/// same upsert: the loader recomputes them from the command it loaded, and the transformer
/// compares them with what it is about to send. Collisions only matter when both the key and the
/// value collide, and then cost one suppressed change in 2^64.
public struct UpsertFingerprint: Hashable, Sendable {
    /// The CRM record: object and external id, the id compared case-insensitively (as
    /// Salesforce matches text external ids).
    public let record: UInt64
    /// The record and the set of fields written (several mappings write one record: an
    /// account's and its bill's fields both go to Account; each is remembered on its own).
    public let key: UInt64
    /// The values written.
    public let value: UInt64

    public init(_ upsert: CRMUpsert) {
        self.init(upsert, fields: upsert.fieldsJSONValue())
    }

    /// From `fields`, the upsert's `fieldsJSONValue()` built already: the transformer writes the
    /// same tree into the upsert's message.
    public init(_ upsert: CRMUpsert, fields: JSONValue) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        fields.write(into: &bytes)
        var value = StableHash()
        value.add(upsert.externalIdField)
        value.add(bytes)
        let names: [String] = if case let .object(object) = fields { object.keys } else { [] }
        self.init(object: upsert.object, externalId: upsert.externalId, fieldSet: names.joined(separator: ","), value: value.value)
    }

    public init(object: String, externalId: String, fieldSet: String, value: UInt64) {
        record = Self.recordHash(object: object, externalId: externalId)
        var hash = StableHash(seed: record)
        hash.add(fieldSet)
        key = hash.value
        self.value = value
    }

    /// The value as the load result carries it: 16 lowercase hex digits.
    public var valueText: String { StableHash.hex(value) }

    /// A value read back from `valueText`.
    public static func value(parsing text: String) -> UInt64? {
        text.utf8.count == 16 ? UInt64(text, radix: 16) : nil
    }

    public static func recordHash(object: String, externalId: String) -> UInt64 {
        var hash = StableHash()
        hash.add(object)
        hash.add(externalId.lowercased())
        return hash.value
    }

}

extension CRMUpsert {
    /// The names of the fields it sets, sorted and comma-separated.
    public var fieldSet: String { fields.keys.sorted().joined(separator: ",") }

    public var fingerprint: UpsertFingerprint { UpsertFingerprint(self) }
}

/// 64-bit FNV-1a: small, stable across processes and platforms (unlike `Hasher`, seeded per
/// process), good enough to tell values apart.
public struct StableHash: Sendable {
    public var value: UInt64

    public init(seed: UInt64 = 0xcbf2_9ce4_8422_2325) { value = seed }

    /// Plain FNV-1a of `bytes` from `seed`, with no separator after them: what a CSV row's
    /// fingerprint and an alert group's key use. Over contiguous bytes, inlined into the caller:
    /// through a generic `Sequence` each byte cost an unspecialized iterator call, which made
    /// hashing a fifth of the transformer's time.
    @inlinable
    public static func fnv1a(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var value = seed
        for byte in bytes {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01b3
        }
        return value
    }

    @inlinable
    public static func fnv1a(_ text: String, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var text = text
        return text.withUTF8 { fnv1a(UnsafeRawBufferPointer($0), seed: seed) }
    }

    /// 16 lowercase hex digits.
    public static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    @inlinable
    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        // A separator after the bytes, so ("ab", "c") and ("a", "bc") differ.
        value = (Self.fnv1a(bytes, seed: value) ^ 0xff) &* 0x0000_0100_0000_01b3
    }

    @inlinable
    public mutating func add(_ bytes: [UInt8]) { bytes.withUnsafeBytes { add($0) } }

    @inlinable
    public mutating func add(_ text: String) {
        var text = text
        text.withUTF8 { add(UnsafeRawBufferPointer($0)) }
    }

    @inlinable
    public static func of(_ bytes: [UInt8]) -> UInt64 {
        var hash = StableHash()
        hash.add(bytes)
        return hash.value
    }
}
