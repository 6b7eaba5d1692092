import BillsyncTopics
import Foundation

/// The ledger's compact storage: what one record or upsert in flight costs (80 and 40 bytes,
/// plus about 6 bytes of index), and the tables that intern the names they share.
extension FleetLedger {
    static let none = UInt32.max
    /// An index value naming an upsert slot (else a record slot).
    static let upsertFlag: UInt32 = 1 << 31

    /// A raw record in flight.
    struct OpenRecord: Sendable {
        var id: UUID
        var businessKey: String
        var offset: Int64
        var sequence: Int
        var firstUpsert: UInt32 = FleetLedger.none
        var second: Int32
        var line: Int32
        var file: UInt32
        var source: UInt32
        var partition: UInt16
        var type: UInt16
        var cycle: UInt16
        /// Stage bits of the stages that dead-lettered it, and of those it has retry copies at.
        var deadAt: UInt16 = 0
        var retriedAt: UInt16 = 0
        /// The billing sink's last result (`LoadMark`).
        var billing: UInt8 = LoadMark.none
        var flags: UInt8 = 0

        static let free: UInt8 = 1
        static let watched: UInt8 = 2
        static let closable: UInt8 = 4
        static let toSalesforce: UInt8 = 8
        static let toBilling: UInt8 = 16

        func has(_ flag: UInt8) -> Bool { flags & flag != 0 }
    }

    /// An upsert in flight: a record's own (linked from it), or a roll-up total (on its own, its
    /// scope and key in `rollups`).
    struct OpenUpsert: Sendable {
        var id: UUID
        var offset: Int64
        /// The record slot it was made from (own upserts), else `none`.
        var cause: UInt32
        var next: UInt32 = FleetLedger.none
        var partition: UInt16
        var object: UInt16
        /// The sink's last result (`LoadMark`).
        var load: UInt8 = LoadMark.none
        var flags: UInt8 = 0

        static let free: UInt8 = 1
        static let rollup: UInt8 = 2
        static let deadAtLoader: UInt8 = 4
        static let closable: UInt8 = 8
        static let retried: UInt8 = 16

        func has(_ flag: UInt8) -> Bool { flags & flag != 0 }
    }

    /// A sink's result as the accounting reads it.
    enum LoadMark {
        static let none: UInt8 = 0
        static let created: UInt8 = 1
        static let updated: UInt8 = 2
        static let failed: UInt8 = 3

        static func of(_ outcome: String) -> UInt8 {
            switch outcome {
            case "created": created
            case "updated": updated
            case "failed": failed
            default: none
            }
        }
    }

    /// A retry copy's place: its stage has handled it once its group committed past it.
    struct RetryMark: Sendable {
        var stage: UInt8
        var partition: UInt16
        var offset: Int64
    }

    /// An effect read before its cause.
    enum Orphan: Sendable {
        case upsert(FleetFacts.Upsert)
        case result(FleetFacts.LoadResult)
        case deadLetter(FleetFacts.DeadLetter)
        case retryCopy(FleetFacts.RetryCopy)
    }

    /// An entry kept after its record's end, with what orders it.
    struct KeptEntry: Sendable {
        var scope: ScopeKey
        var sequence: Int
        var entry: SyncLedger.Entry
    }

    /// Names shared by many records (types, sources, files, objects, billing cycles, flows), each kept once.
    struct Interned: Sendable {
        var types = NameTable()
        var sources = NameTable()
        var files = NameTable()
        var objects = NameTable()
        var cycles = NameTable()
        var flows: [SyncLedger.Flow] = []
        var flowIndexes: [SyncLedger.Flow: UInt16] = [:]

        mutating func flow(_ flow: SyncLedger.Flow) -> UInt16 {
            if let index = flowIndexes[flow] { return index }
            flows.append(flow)
            flowIndexes[flow] = UInt16(flows.count - 1)
            return UInt16(flows.count - 1)
        }
    }

    /// Strings by index, index 0 being "none".
    struct NameTable: Sendable {
        private(set) var names: [String] = [""]
        private var indexes: [String: UInt32] = ["": 0]

        mutating func index(_ name: String?) -> UInt32 {
            guard let name else { return 0 }
            if let index = indexes[name] { return index }
            names.append(name)
            indexes[name] = UInt32(names.count - 1)
            return UInt32(names.count - 1)
        }

        func find(_ name: String) -> UInt32? { indexes[name] }
        subscript(_ index: UInt32) -> String { names[Int(index)] }
        func name(_ index: UInt32) -> String? { index == 0 ? nil : names[Int(index)] }
    }

    /// Every partition met, by index, with the stage bits of the accounting stages reading it.
    struct PartitionTable: Sendable {
        private(set) var topics: [String] = []
        private(set) var numbers: [Int32] = []
        private(set) var readers: [UInt16] = []
        private var indexes: [String: [Int32: UInt16]] = [:]

        mutating func index(topic: String, partition: Int32, readers stages: [Stage]?) -> UInt16 {
            if let index = indexes[topic]?[partition] { return index }
            topics.append(topic)
            numbers.append(partition)
            readers.append((stages ?? []).reduce(UInt16(0)) { $0 | StageBits.mask(of: $1) })
            let index = UInt16(topics.count - 1)
            indexes[topic, default: [:]][partition] = index
            return index
        }

        func position(_ index: UInt16, offset: Int64) -> FleetFacts.Position {
            FleetFacts.Position(topic: topics[Int(index)], partition: numbers[Int(index)], offset: offset)
        }
    }

    /// The stages the accounting knows, as bits; any other stage is only named in dead-letter groups.
    enum StageBits {
        static let stages: [Stage] = [.transformer, .rollup, .loader, .loaderBilling, .loaderPostgres, .extractor]
        static var count: Int { stages.count }

        static func bit(of stage: Stage) -> UInt8? {
            stages.firstIndex(of: stage).map(UInt8.init)
        }

        static func mask(of stage: Stage) -> UInt16 {
            bit(of: stage).map { 1 << $0 } ?? 0
        }

        static let transformer: UInt8 = 0
        static let rollup: UInt8 = 1
        static let loader: UInt8 = 2
        static let loaderBilling: UInt8 = 3
    }
}
