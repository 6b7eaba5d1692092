import Foundation

/// The open set's index by message id: open addressing over slot numbers, 4 bytes a bucket at a
/// load of at most three quarters. The ids stay where they are, in the records and upserts, and
/// a probe compares them there: a dictionary keyed by id would hold every id a second time (about
/// 36 bytes an entry instead of 6), which is most of what a backlog costs.
extension FleetLedger {
    struct SlotIndex: Sendable {
        static let empty = UInt32.max
        static let deleted = UInt32.max - 1
        static let minimumCapacity = 1_024

        var buckets = [UInt32](repeating: SlotIndex.empty, count: SlotIndex.minimumCapacity)
        /// Values held, and buckets not empty (values and deleted marks).
        var count = 0
        var used = 0
    }

    /// A bucket to start probing at: UUIDs are random (or hashes), so their bytes mixed are enough.
    static func hash(_ id: UUID) -> Int {
        let bits = withUnsafeBytes(of: id.uuid) { $0.loadUnaligned(as: UInt64.self) ^ $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }
        return Int(truncatingIfNeeded: (bits &* 0x9E37_79B9_7F4A_7C15) >> 20)
    }

    func id(ofSlot value: UInt32) -> UUID {
        value & Self.upsertFlag != 0 ? upserts[Int(value & ~Self.upsertFlag)].id : records[Int(value)].id
    }

    /// The slot of the open record or upsert with this id (`upsertFlag` set for an upsert).
    func lookup(_ id: UUID) -> UInt32? {
        bucket(of: id).map { slots.buckets[$0] }
    }

    func bucket(of id: UUID) -> Int? {
        let mask = slots.buckets.count - 1
        var bucket = Self.hash(id) & mask
        while true {
            let value = slots.buckets[bucket]
            if value == SlotIndex.empty { return nil }
            if value != SlotIndex.deleted, self.id(ofSlot: value) == id { return bucket }
            bucket = (bucket + 1) & mask
        }
    }

    /// Indexes a slot whose id is not indexed yet.
    mutating func insertIndex(_ value: UInt32) {
        if (slots.used + 1) * 4 > slots.buckets.count * 3 { rehashIndex(for: slots.count + 1) }
        place(value)
    }

    mutating func removeIndex(_ id: UUID) {
        guard let bucket = bucket(of: id) else { return }
        slots.buckets[bucket] = SlotIndex.deleted
        slots.count -= 1
        if slots.buckets.count > SlotIndex.minimumCapacity, slots.count * 8 < slots.buckets.count { rehashIndex(for: slots.count) }
    }

    /// Rebuilds the table for `count` values at a load of about half, dropping deleted marks.
    mutating func rehashIndex(for count: Int) {
        var capacity = SlotIndex.minimumCapacity
        while capacity < count * 2 { capacity *= 2 }
        let old = slots.buckets
        slots = SlotIndex(buckets: [UInt32](repeating: SlotIndex.empty, count: capacity), count: 0, used: 0)
        for value in old where value < SlotIndex.deleted { place(value) }
    }

    private mutating func place(_ value: UInt32) {
        let mask = slots.buckets.count - 1
        var bucket = Self.hash(id(ofSlot: value)) & mask
        while slots.buckets[bucket] < SlotIndex.deleted { bucket = (bucket + 1) & mask }
        if slots.buckets[bucket] == SlotIndex.empty { slots.used += 1 }
        slots.buckets[bucket] = value
        slots.count += 1
    }
}
