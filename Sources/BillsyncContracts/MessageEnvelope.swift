import Foundation

/// What every message on a billsync topic looks like (`Schemas/envelope.v1.schema.json`).
public struct MessageEnvelope<Payload: MessagePayload>: Codable, Sendable, Hashable {
    /// Kept when a message is retried or redriven, so sinks can recognise a repeat.
    public var id: UUID
    public var type: MessageType
    /// major.minor of the payload schema.
    public var schemaVersion: String
    public var source: MessageSource
    /// The key the message is partitioned by (e.g. the billing account id), keeping one
    /// customer's changes in order.
    public var businessKey: String
    /// The same from extraction to load: a record's lineage across every stage.
    public var correlationId: UUID
    /// The message this one was made from.
    public var causationId: UUID?
    @ExplicitNull public var occurredAt: Timestamp?
    public var extractedAt: Timestamp
    public var payload: Payload

    public init(
        id: UUID = UUID(),
        schemaVersion: String = "1.0",
        source: MessageSource,
        businessKey: String,
        correlationId: UUID = UUID(),
        causationId: UUID? = nil,
        occurredAt: Timestamp?,
        extractedAt: Timestamp = .now,
        payload: Payload
    ) {
        self.id = id
        self.type = Payload.messageType
        self.schemaVersion = schemaVersion
        self.source = source
        self.businessKey = businessKey
        self.correlationId = correlationId
        self.causationId = causationId
        self.occurredAt = occurredAt
        self.extractedAt = extractedAt
        self.payload = payload
    }

    /// A message derived from this one: same lineage, this message as its cause, and an id
    /// computed from this message's id, so handling the same input twice (a retry, a restart)
    /// yields the same id and a sink can recognise the repeat. `index` tells apart several
    /// messages derived from one input.
    public func derived<Other: MessagePayload>(businessKey: String? = nil, index: Int = 0, payload: Other) -> MessageEnvelope<Other> {
        MessageEnvelope<Other>(id: UUID(derivedFrom: "\(id.text)|\(Other.messageType.rawValue)|\(index)"),
                               source: MessageSource(system: .billsync, name: source.name), businessKey: businessKey ?? self.businessKey,
                               correlationId: correlationId, causationId: id, occurredAt: occurredAt,
                               extractedAt: extractedAt, payload: payload)
    }
}

/// Which system, and which configured source of it, a message came from.
public struct MessageSource: Codable, Sendable, Hashable {
    public enum System: String, Codable, Sendable, Hashable {
        case billingAPI = "billing-api"
        case csvDrop = "csv-drop"
        case sql
        case salesforce
        case billsync
    }

    public var system: System
    /// Which configured source of that system (e.g. "nightly-export").
    public var name: String

    public init(system: System, name: String) {
        self.system = system
        self.name = name
    }
}


extension UUID {
    /// A stable UUID for a name (two FNV-1a hashes), marked as a version 8 (custom) UUID.
    public init(derivedFrom name: String) {
        var bytes = withUnsafeBytes(of: StableHash.fnv1a(name).bigEndian) { Array($0) }
            + withUnsafeBytes(of: StableHash.fnv1a(name, seed: 0x6C62_272E_07BB_0142).bigEndian) { Array($0) }
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        self.init(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                         bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}
