import BillsyncTopics
import Foundation

extension SyncLedger {
    /// A raw entity's message type (`meter-reading` → `billing-meter-reading`), and back.
    public static func recordType(_ entity: String) -> String { "billing-\(entity)" }
    static func entity(ofRecordType type: String) -> String {
        type.hasPrefix("billing-") ? String(type.dropFirst("billing-".count)) : type
    }

    /// Accounts for every raw record of `sources` (all sources when nil) among facts gathered
    /// at once (a few, by hand, in tests): they go through a `FleetLedger` that keeps every
    /// entry, causes before effects, settled twice so what reached its end is counted as an
    /// observer would count it. `objects` names the CRM object each record type maps to (from the
    /// mapping file), for records that never became an upsert. `transformedTypes` are the record
    /// types the transformer reads, `billingTypes` those the billing sink sends back (empty when
    /// it does not run); records of other types are not read by any running stage and only counted
    /// (`unrouted`). `sink` is the results' sink name of the loader stage. `period` keeps only
    /// records extracted within it (one run, one day), by whole seconds. A stage counts as reading
    /// a topic when it committed offsets on it.
    public init(facts: FleetFacts, sources: Set<String>?, objects: [String: String],
                transformedTypes: Set<String> = Set(TopicCatalog.transformerEntities.map(recordType)),
                billingTypes: Set<String> = Set(TopicCatalog.billingUploadEntities.map(recordType)), sink: String = "salesforce",
                extractedWithin period: ClosedRange<Date>? = nil) {
        var readers: [String: [Stage]] = [:]
        for (stage, offsets) in facts.committed where stage != .loaderPostgres {
            for topic in Set(offsets.keys.map(\.topic)) { readers[topic, default: []].append(stage) }
        }
        var fleet = FleetLedger(FleetLedger.Configuration(objects: objects, transformedTypes: transformedTypes, billingTypes: billingTypes,
                                                          sink: sink, sources: sources, readers: readers, keepsEveryEntry: true))
        fleet.samples = facts.samples
        for (stage, offsets) in facts.committed { fleet.setCommitted(offsets, of: stage) }
        facts.raw.forEach { fleet.take($0) }
        facts.upserts.forEach { fleet.take($0) }
        facts.results.forEach { fleet.take($0) }
        facts.deadLetters.forEach { fleet.take($0) }
        facts.retryCopies.forEach { fleet.take($0) }
        fleet.settle()
        fleet.settle()
        self = fleet.ledger(sources: sources, extractedWithin: period)
    }
}
