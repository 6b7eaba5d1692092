import BillsyncContracts
import BillsyncKafka
import BillsyncTopics
import Foundation

/// Every notification is also an `alert` on the alerts topic, for other tools: a channel like
/// the others, so a broker that is away keeps it pending the same way.
public struct AlertsTopicChannel: AlertChannel {
    public let name = "alerts-topic"
    let topic: String
    let producer: KafkaProducer
    let contracts: MessageContracts

    public init(topic: String, producer: KafkaProducer, contracts: MessageContracts) {
        self.topic = topic
        self.producer = producer
        self.contracts = contracts
    }

    public func deliver(_ notification: AlertNotification) async throws {
        let alert = Alert(alertId: UUID(), dedupeKey: notification.groupKey, severity: notification.severity, kind: notification.kind,
                          title: String(notification.title.prefix(200)), summary: String(notification.summary.prefix(4000)),
                          stage: notification.stage, topic: notification.topic, count: max(1, notification.count),
                          firstSeenAt: Timestamp(notification.firstSeenAt), lastSeenAt: Timestamp(notification.lastSeenAt),
                          runbook: notification.runbook.map { String($0.prefix(2000)) },
                          status: notification.status == .firing ? .firing : .resolved,
                          examples: notification.examples.map { String($0.prefix(200)) }, command: notification.command,
                          annotation: notification.annotation.map { String($0.prefix(500)) },
                          labels: notification.labels.mapValues { String($0.prefix(300)) })
        let envelope = MessageEnvelope(source: MessageSource(system: .billsync, name: "alerter"), businessKey: notification.groupKey,
                                       occurredAt: Timestamp(notification.lastSeenAt), payload: alert)
        do {
            let value = try contracts.encode(envelope)
            let report = try await producer.send(KafkaProducerMessage(
                topic: topic, key: Array(notification.groupKey.utf8), value: value,
                headers: [KafkaHeader(name: StageHeaders.writtenBy, value: Array(Stage.alerter.rawValue.utf8))]))
            if let error = report.error { throw error }
        } catch let error as KafkaError {
            throw ChannelFailure(retryable: true, reason: "the alerts topic: \(error)")
        }
    }
}
