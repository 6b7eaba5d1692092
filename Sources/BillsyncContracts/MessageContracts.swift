import BillsyncJSON
import Foundation

/// Why a message was refused: what kind of failure, and every field that broke a rule.
public struct ContractViolation: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The bytes are not JSON (or not UTF-8).
        case notJSON = "not-json"
        /// The envelope breaks `envelope.v1.schema.json`.
        case envelope
        /// The envelope names a schema version this worker does not have.
        case unsupportedVersion = "unsupported-version"
        /// The payload breaks its type's schema.
        case payload
        /// Valid, but not the message type the caller expected.
        case unexpectedType = "unexpected-type"
    }

    public let kind: Kind
    public let violations: [SchemaViolation]
    public let detail: String

    /// A stable code for dead-letter headers and metrics, e.g. `schema.payload.required`.
    public var code: String {
        violations.first.map { "schema.\(kind.rawValue).\($0.keyword)" } ?? "schema.\(kind.rawValue)"
    }

    /// The first failing field.
    public var pointer: JSONPointer? { violations.first?.pointer }

    public var description: String {
        guard !violations.isEmpty else { return "\(kind.rawValue): \(detail)" }
        let shown = violations.prefix(5).map(\.description).joined(separator: "; ")
        let more = violations.count > 5 ? " (and \(violations.count - 5) more)" : ""
        return "\(kind.rawValue): \(shown)\(more)"
    }
}

/// A message that passed its contract.
public struct ValidatedMessage: Sendable {
    public let type: MessageType
    public let schemaVersion: String
    public let document: JSONValue
}

/// The schemas of every topic, compiled once at startup, and the one way messages are read
/// and written: validated against the schema files, not only decoded.
///
/// Versioning: `schemaVersion` is `major.minor`. A minor version only adds optional fields or
/// enum values, and consumers are upgraded before producers, so a consumer refuses a minor
/// newer than it knows with a clear reason instead of misreading it. A new major version is a
/// new file (`<type>.v2.schema.json`) kept beside the previous one while both are in flight.
public final class MessageContracts: Sendable {
    /// The minor version of each major this build writes and understands.
    public static let knownMinorVersions: [Int: Int] = [1: 0]
    public static let writtenVersion = "1.0"

    private let envelope: JSONSchema
    /// Each type's payload schema by major version, found without building a name per message.
    private let payloads: [MessageType: [Int: JSONSchema]]
    public let directory: URL

    /// Loads and compiles every `*.schema.json` in `directory`. Fails (at startup) when a schema
    /// is malformed, uses an unsupported keyword, or a message type has no schema.
    public init(directory: URL) throws {
        self.directory = directory
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".schema.json") }
            .sorted()
        var compiler = SchemaCompiler()
        var idsByFile: [String: String] = [:]
        for file in files {
            let bytes = try Data(contentsOf: directory.appendingPathComponent(file))
            let document: JSONValue
            do {
                document = try JSONParser.parse(bytes)
            } catch {
                throw SchemaCompilationError(schema: file, location: JSONPointer(), reason: error.description)
            }
            idsByFile[file] = try compiler.add(document, name: file)
        }
        let compiled = try compiler.compileAll()
        func schema(_ file: String) throws -> JSONSchema {
            guard let id = idsByFile[file], let schema = compiled[id] else {
                throw SchemaCompilationError(schema: file, location: JSONPointer(), reason: "missing from \(directory.path)")
            }
            return schema
        }
        envelope = try schema("envelope.v1.schema.json")
        var payloads: [MessageType: [Int: JSONSchema]] = [:]
        for type in MessageType.allCases {
            for major in Self.knownMinorVersions.keys {
                payloads[type, default: [:]][major] = try schema("\(type.rawValue).v\(major).schema.json")
            }
        }
        self.payloads = payloads
    }

    /// `BILLSYNC_SCHEMAS`, else the nearest `Schemas/` at or above the working directory, else
    /// the container's `/usr/local/share/billsync/schemas`.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let configured = environment["BILLSYNC_SCHEMAS"], !configured.isEmpty {
            return URL(fileURLWithPath: configured, isDirectory: true)
        }
        var candidate = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        while candidate.path != "/" {
            let schemas = candidate.appendingPathComponent("Schemas", isDirectory: true)
            if FileManager.default.fileExists(atPath: schemas.appendingPathComponent("envelope.v1.schema.json").path) {
                return schemas
            }
            candidate.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: "/usr/local/share/billsync/schemas", isDirectory: true)
    }

    /// Checks bytes against the envelope schema and then against the payload schema the
    /// envelope's type and version name.
    public func validate(_ bytes: some Collection<UInt8>) -> Result<ValidatedMessage, ContractViolation> {
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            return .failure(ContractViolation(kind: .notJSON, violations: [], detail: error.description))
        }
        return validate(document: document)
    }

    /// Checks an already parsed (or built) document.
    public func validate(document: JSONValue) -> Result<ValidatedMessage, ContractViolation> {
        let envelopeViolations = envelope.validate(document)
        guard envelopeViolations.isEmpty,
              let typeName = document["type"]?.stringValue, let type = MessageType(rawValue: typeName),
              let version = document["schemaVersion"]?.stringValue
        else {
            return .failure(ContractViolation(kind: .envelope, violations: envelopeViolations, detail: "invalid envelope"))
        }
        let parts = Self.majorAndMinor(version)
        guard let parts, let knownMinor = Self.knownMinorVersions[parts.major], parts.minor <= knownMinor,
              let schema = payloads[type]?[parts.major]
        else {
            let known = Self.knownMinorVersions.sorted { $0.key < $1.key }.map { "\($0.key).0–\($0.key).\($0.value)" }
            return .failure(ContractViolation(
                kind: .unsupportedVersion, violations: [],
                detail: "\(type.rawValue) \(version) is newer than this worker knows (\(known.joined(separator: ", "))): upgrade consumers before producers"
            ))
        }
        let payloadViolations = schema.validate(document["payload"] ?? .null).map {
            SchemaViolation(pointer: JSONPointer(["payload"] + $0.pointer.tokens), keyword: $0.keyword, message: $0.message)
        }
        guard payloadViolations.isEmpty else {
            return .failure(ContractViolation(kind: .payload, violations: payloadViolations, detail: "invalid \(type.rawValue)"))
        }
        return .success(ValidatedMessage(type: type, schemaVersion: version, document: document))
    }

    /// `1.0` → (1, 0); nil for anything else. Read for every message, so without splitting.
    static func majorAndMinor(_ version: String) -> (major: Int, minor: Int)? {
        guard let point = version.utf8.firstIndex(of: UInt8(ascii: ".")),
              let major = Int(version[..<point]), let minor = Int(version[version.index(after: point)...]) else { return nil }
        return (major, minor)
    }

    /// Validates, then reads the envelope from the validated tree (the bytes are parsed once).
    public func decode<Payload: MessagePayload>(_ bytes: [UInt8], as _: Payload.Type = Payload.self) throws(ContractViolation) -> MessageEnvelope<Payload> {
        let message = try validate(bytes).get()
        guard Payload.accepts(message.type) else {
            throw ContractViolation(kind: .unexpectedType, violations: [],
                                    detail: "expected \(Payload.messageType.rawValue), got \(message.type.rawValue)")
        }
        do {
            return try MessageEnvelope<Payload>(validated: message.document)
        } catch {
            // The schema admitted something the Swift type cannot hold: a contract bug, reported as such.
            throw ContractViolation(kind: .payload, violations: [], detail: "valid JSON that \(Payload.self) cannot decode: \(error)")
        }
    }

    /// Reads back a message this process encoded (and so validated) itself, without validating it again.
    public func decodeOwn<Payload: MessagePayload>(_ bytes: [UInt8], as _: Payload.Type = Payload.self) throws -> MessageEnvelope<Payload> {
        try MessageEnvelope<Payload>(validated: JSONParser.parse(bytes))
    }

    /// Builds the message's tree, validates it and writes it: a worker never writes a message its
    /// consumers would refuse.
    public func encode<Payload: MessagePayload>(_ message: MessageEnvelope<Payload>) throws -> [UInt8] {
        try encode(message, payloadJSON: try message.payload.jsonValue())
    }

    /// `encode` with the payload's tree built already (the transformer builds an upsert's fields
    /// once, for its fingerprint and its message).
    public func encode<Payload: MessagePayload>(_ message: MessageEnvelope<Payload>, payloadJSON: JSONValue) throws -> [UInt8] {
        let document = message.jsonValue(payload: payloadJSON)
        _ = try validate(document: document).get()
        return document.serialized()
    }
}
