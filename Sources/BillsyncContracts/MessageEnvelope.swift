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

    /// A message derived from this one: same lineage, this message as its cause.
    public func derived<Other: MessagePayload>(businessKey: String? = nil, payload: Other) -> MessageEnvelope<Other> {
        MessageEnvelope<Other>(source: MessageSource(system: .billsync, name: source.name), businessKey: businessKey ?? self.businessKey,
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

