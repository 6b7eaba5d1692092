import BillsyncHTTP
import BillsyncKafka
import BillsyncTopics
import Foundation
import Logging

/// Everything a worker is configured with, typed and checked at startup.
///
/// Sources, later wins: built-in defaults for the stage, the YAML file (`--config` or
/// `BILLSYNC_CONFIG`), the environment. A bad value stops the worker with an error naming the
/// key and the reason.
public struct WorkerConfiguration: Sendable {
    public enum LogFormat: String, Sendable, CaseIterable {
        /// JSON lines when standard error is not a terminal (containers), text otherwise.
        case auto, json, text
    }

    public var brokers: [String]
    public var clientID: String
    public var kafkaProperties: [String: String] = [:]
    public var runtime: StageRuntimeConfiguration
    /// Whether `stage.maxInFlight` was configured (a worker with a larger default of its own,
    /// like the loader, keeps what the operator chose: it bounds the worker's memory).
    public var maximumInFlightConfigured = false
    public var shutdownTimeout: Duration = .seconds(30)
    public var httpHost = "0.0.0.0"
    public var httpPort = 9464
    /// The worker's HTTP client (`outbound.*`): timeouts and connections per host for every call
    /// to Salesforce, the billing engine and the alert channels.
    public var http = HTTPTransport.Configuration()
    public var logLevel: Logger.Level = .info
    public var logFormat: LogFormat = .auto
    /// Where the message schemas are; nil means `MessageContracts.defaultDirectory()`.
    public var schemasDirectory: String?
    /// Where each setting came from.
    public var origins: [String: String] = [:]

    public static let knownKeys: Set<String> = [
        "kafka.brokers", "kafka.clientId", "stage.group", "stage.inputs", "stage.retryTopics", "stage.deadLetterTopic",
        "stage.maxInFlight", "retry.inProcessAttempts", "retry.initialBackoff", "retry.maximumBackoff", "retry.tiers",
        "heartbeat.interval", "heartbeat.topic", "shutdown.timeout", "http.host", "http.port", "log.level", "log.format", "schemas.directory",
        "outbound.connectTimeout", "outbound.requestTimeout", "outbound.connectionsPerHost",
    ]

    /// The defaults for a stage, from the topic catalog: its inputs (unless given), its retry
    /// and dead-letter topics, and a group named after the stage.
    public init(stage: Stage, catalog: TopicCatalog = TopicCatalog(), inputTopics: [String]? = nil) {
        brokers = ["127.0.0.1:19092"]
        clientID = "billsync-\(stage)"
        runtime = StageRuntimeConfiguration(
            stage: stage.rawValue, group: catalog.group(of: stage), inputTopics: inputTopics ?? catalog.inputs(of: stage),
            retryTopics: catalog.retryTopics(stage: stage), deadLetterTopic: catalog.deadLetterTopic(stage: stage)
        )
        runtime.heartbeatTopic = catalog.workers
    }

    /// Applies a file and the environment on top of the defaults.
    public mutating func load(file: String?, environment: [String: String]) throws {
        var values = ConfigurationValues()
        if let file {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ConfigurationError(key: "--config", reason: "cannot read \(file)")
            }
            try values.merge(yaml: text, file: file, knownKeys: Self.knownKeys)
        }
        try values.merge(environment: environment, knownKeys: Self.knownKeys)
        try apply(values)
    }

    mutating func apply(_ values: ConfigurationValues) throws {
        func one(_ key: String) throws -> String? {
            guard let list = values[key] else { return nil }
            guard list.count == 1 else { throw ConfigurationError(key: key, reason: "expected one value, got a list") }
            return list[0]
        }
        func integer(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let text = try one(key) else { return nil }
            guard let value = Int(text), range.contains(value) else {
                throw ConfigurationError(key: key, reason: "'\(text)' is not a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        func duration(_ text: String, key: String) throws -> Duration {
            guard let value = Self.parseDuration(text) else {
                throw ConfigurationError(key: key, reason: "'\(text)' is not a duration (like 250ms, 30s, 5m, 1h)")
            }
            return value
        }
        func list(_ key: String) throws -> [String]? {
            guard let list = values[key] else { return nil }
            guard !list.isEmpty, list.allSatisfy({ !$0.isEmpty }) else { throw ConfigurationError(key: key, reason: "must not be empty") }
            return list
        }

        if let brokers = try list("kafka.brokers") { self.brokers = brokers }
        if let clientID = try one("kafka.clientId") { self.clientID = clientID }
        kafkaProperties.merge(values.kafkaProperties) { _, new in new }
        if let group = try one("stage.group") { runtime.group = group }
        if let inputs = try list("stage.inputs") { runtime.inputTopics = inputs }
        if let retryTopics = try list("stage.retryTopics") { runtime.retryTopics = retryTopics }
        if let deadLetterTopic = try one("stage.deadLetterTopic") { runtime.deadLetterTopic = deadLetterTopic }
        if let maxInFlight = try integer("stage.maxInFlight", 1...100_000) {
            runtime.maximumInFlight = maxInFlight
            maximumInFlightConfigured = true
        }
        if let parallelism = try integer("stage.parallelism", 1...64) { runtime.parallelism = parallelism }
        if let attempts = try integer("retry.inProcessAttempts", 1...100) { runtime.retry.inProcessAttempts = attempts }
        if let text = try one("retry.initialBackoff") { runtime.retry.initialBackoff = try duration(text, key: "retry.initialBackoff") }
        if let text = try one("retry.maximumBackoff") { runtime.retry.maximumBackoff = try duration(text, key: "retry.maximumBackoff") }
        if let text = try one("heartbeat.interval") { runtime.heartbeatInterval = try duration(text, key: "heartbeat.interval") }
        // `none` sends no heartbeat (a worker outside any fleet, like a test's).
        if let topic = try one("heartbeat.topic") { runtime.heartbeatTopic = topic == "none" ? nil : topic }
        if let tiers = try list("retry.tiers") { runtime.retry.tiers = try tiers.map { try duration($0, key: "retry.tiers") } }
        if let text = try one("shutdown.timeout") { shutdownTimeout = try duration(text, key: "shutdown.timeout") }
        if let host = try one("http.host") { httpHost = host }
        if let port = try integer("http.port", 0...65535) { httpPort = port }
        if let text = try one("outbound.connectTimeout") { http.connectTimeout = try duration(text, key: "outbound.connectTimeout") }
        if let text = try one("outbound.requestTimeout") { http.requestTimeout = try duration(text, key: "outbound.requestTimeout") }
        if let connections = try integer("outbound.connectionsPerHost", 1...256) { http.connectionsPerHost = connections }
        if let text = try one("log.level") {
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw ConfigurationError(key: "log.level", reason: "'\(text)' is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            logLevel = level
        }
        if let text = try one("log.format") {
            guard let format = LogFormat(rawValue: text.lowercased()) else {
                throw ConfigurationError(key: "log.format", reason: "'\(text)' is not one of auto, json, text")
            }
            logFormat = format
        }
        if let directory = try one("schemas.directory") { schemasDirectory = directory }
        guard runtime.retryTopics.count == runtime.retry.tiers.count else {
            throw ConfigurationError(key: "retry.tiers", reason: "\(runtime.retry.tiers.count) tiers but \(runtime.retryTopics.count) stage.retryTopics: give one topic per tier")
        }
        guard runtime.retry.initialBackoff <= runtime.retry.maximumBackoff else {
            throw ConfigurationError(key: "retry.initialBackoff", reason: "is longer than retry.maximumBackoff")
        }
        origins.merge(values.origins) { _, new in new }
    }

    /// `250ms`, `30s`, `5m`, `1h`.
    public static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (unit, milliseconds) in units where text.hasSuffix(unit) {
            guard let number = Int64(text.dropLast(unit.count)), number >= 0 else { continue }
            return .milliseconds(number * milliseconds)
        }
        return nil
    }

    public var connection: KafkaConnection {
        var connection = KafkaConnection(bootstrapServers: brokers, clientID: clientID)
        connection.properties = kafkaProperties
        return connection
    }

    /// Property names whose values are secrets (masked when printed, never logged).
    public static func isSecret(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return ["password", "secret", "token", "key", "credential", "jaas"].contains { lowered.contains($0) }
    }

    /// The effective configuration, with secrets masked, for `--print-config`.
    public var printable: String {
        func seconds(_ duration: Duration) -> String {
            let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
            return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
        }
        var lines = [
            "kafka:",
            "  brokers: [\(brokers.joined(separator: ", "))]",
            "  clientId: \(clientID)",
        ]
        if !kafkaProperties.isEmpty {
            lines.append("  properties:")
            for (name, value) in kafkaProperties.sorted(by: { $0.key < $1.key }) {
                lines.append("    \(name): \(Self.isSecret(name) ? "********" : value)")
            }
        }
        lines += [
            "stage:",
            "  name: \(runtime.stage)",
            "  group: \(runtime.group)",
            "  inputs: [\(runtime.inputTopics.joined(separator: ", "))]",
            "  retryTopics: [\(runtime.retryTopics.joined(separator: ", "))]",
            "  deadLetterTopic: \(runtime.deadLetterTopic)",
            "  maxInFlight: \(runtime.maximumInFlight)",
            "  parallelism: \(runtime.parallelism)",
            "retry:",
            "  inProcessAttempts: \(runtime.retry.inProcessAttempts)",
            "  initialBackoff: \(seconds(runtime.retry.initialBackoff))",
            "  maximumBackoff: \(seconds(runtime.retry.maximumBackoff))",
            "  tiers: [\(runtime.retry.tiers.map(seconds).joined(separator: ", "))]",
            "heartbeat:",
            "  topic: \(runtime.heartbeatTopic ?? "none")",
            "  interval: \(seconds(runtime.heartbeatInterval))",
            "shutdown:",
            "  timeout: \(seconds(shutdownTimeout))",
            "http:",
            "  host: \(httpHost)",
            "  port: \(httpPort)",
            "outbound:",
            "  connectTimeout: \(seconds(http.connectTimeout))",
            "  requestTimeout: \(seconds(http.requestTimeout))",
            "  connectionsPerHost: \(http.connectionsPerHost)",
            "log:",
            "  level: \(logLevel.rawValue)",
            "  format: \(logFormat.rawValue)",
        ]
        return lines.joined(separator: "\n")
    }
}
