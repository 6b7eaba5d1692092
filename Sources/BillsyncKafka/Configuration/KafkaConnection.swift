import Foundation

/// Where the brokers are and how to reach them; shared by producers, consumers and admin clients.
///
/// Anything librdkafka understands can be set in `properties` (`security.protocol`,
/// `ssl.ca.location`, `sasl.mechanism`, `sasl.username`, ...), so TLS and SASL need no code.
/// Secrets belong there, loaded from the environment or a file; they are never logged.
public struct KafkaConnection: Sendable {
    /// `host:port` of one or more brokers to bootstrap from.
    public var bootstrapServers: [String]
    /// Sent to the brokers with every request; shows in broker logs and quotas.
    public var clientID: String
    /// librdkafka properties applied to every client of this connection.
    public var properties: [String: String]

    public init(
        bootstrapServers: [String],
        clientID: String = "billsync",
        properties: [String: String] = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.properties = properties
    }

    /// Reads `KAFKA_BROKERS` (comma-separated), falling back to the local broker billsync starts.
    public static func fromEnvironment(
        _ environment: [String: String],
        clientID: String = "billsync"
    ) -> KafkaConnection {
        let brokers = environment["KAFKA_BROKERS"]?
            .split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        return KafkaConnection(bootstrapServers: brokers ?? ["127.0.0.1:19092"], clientID: clientID)
    }

    var librdkafkaProperties: [String: String] {
        var result = [
            "bootstrap.servers": bootstrapServers.joined(separator: ","),
            "client.id": clientID,
        ]
        result.merge(properties) { _, configured in configured }
        return result
    }
}

extension Duration {
    /// Whole milliseconds, as librdkafka's `*.ms` properties want them.
    var librdkafkaMilliseconds: String {
        let (seconds, attoseconds) = components
        return String(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
