import BillsyncJSON
import Foundation

/// Reading and writing envelopes as JSON trees: the contracts validate a tree, so decoding from
/// it (and encoding to it) spares the hot path a second parse and Foundation's coders.
extension MessageEnvelope {
    /// Why a validated document still cannot become an envelope (a schema that admits what the
    /// Swift type cannot hold: a contract bug).
    struct Unreadable: Error, CustomStringConvertible {
        let field: String
        var description: String { "envelope field \(field) cannot be read" }
    }

    init(validated document: JSONValue) throws {
        func text(_ key: String) throws -> String {
            guard let value = document[key]?.stringValue else { throw Unreadable(field: key) }
            return value
        }
        func uuid(_ key: String) throws -> UUID {
            guard let value = UUID(text: try text(key)) else { throw Unreadable(field: key) }
            return value
        }
        func timestamp(_ key: String) throws -> Timestamp {
            guard let value = Timestamp(parsing: try text(key)) else { throw Unreadable(field: key) }
            return value
        }
        guard let type = MessageType(rawValue: try text("type")),
              let system = document["source"]?["system"]?.stringValue.flatMap(MessageSource.System.init(rawValue:)),
              let sourceName = document["source"]?["name"]?.stringValue
        else { throw Unreadable(field: "type or source") }
        let causation: UUID?
        switch document["causationId"] {
        case nil, .null?: causation = nil
        default: causation = try uuid("causationId")
        }
        let occurred: Timestamp?
        switch document["occurredAt"] {
        case nil, .null?: occurred = nil
        default: occurred = try timestamp("occurredAt")
        }
        self.init(id: try uuid("id"), schemaVersion: try text("schemaVersion"),
                  source: MessageSource(system: system, name: sourceName), businessKey: try text("businessKey"),
                  correlationId: try uuid("correlationId"), causationId: causation, occurredAt: occurred,
                  extractedAt: try timestamp("extractedAt"), payload: try Payload(validated: document["payload"] ?? .null))
        self.type = type
    }

    /// The envelope as a tree, members in sorted order (as the bytes were always written).
    func jsonValue() throws -> JSONValue {
        jsonValue(payload: try payload.jsonValue())
    }

    func jsonValue(payload: JSONValue) -> JSONValue {
        let source = JSONValue.object(JSONObject(uniqueKeys: ["name", "system"], values: [.string(self.source.name), .string(self.source.system.rawValue)]))
        let occurred: JSONValue = occurredAt.map { .string($0.text) } ?? .null
        if let causationId {
            return .object(JSONObject(
                uniqueKeys: ["businessKey", "causationId", "correlationId", "extractedAt", "id", "occurredAt", "payload", "schemaVersion", "source", "type"],
                values: [.string(businessKey), .string(causationId.text), .string(correlationId.text), .string(extractedAt.text), .string(id.text),
                         occurred, payload, .string(schemaVersion), source, .string(type.rawValue)]))
        }
        return .object(JSONObject(
            uniqueKeys: ["businessKey", "correlationId", "extractedAt", "id", "occurredAt", "payload", "schemaVersion", "source", "type"],
            values: [.string(businessKey), .string(correlationId.text), .string(extractedAt.text), .string(id.text),
                     occurred, payload, .string(schemaVersion), source, .string(type.rawValue)]))
    }
}
