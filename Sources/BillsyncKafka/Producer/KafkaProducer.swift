import BillsyncBlocking
import CRdKafka
import Logging
import ServiceLifecycle

/// Produces messages to Kafka and reports, for each one, whether the broker has it.
///
/// Idempotent with `acks=all` by default. `send` waits for the broker's acknowledgement;
/// `sendDetached` returns once the message is queued and reports delivery later, to a callback
/// and to `counters`. As a `Service`, it flushes everything queued when the group shuts down.
public final class KafkaProducer: Sendable {
    private let client: RDKafkaClient
    private let pending: PendingDeliveries
    private let poller: PollingThread
    private let configuration: KafkaProducerConfiguration
    private let logger: Logger

    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        let pending = PendingDeliveries()
        let client = try RDKafkaClient(
            type: RD_KAFKA_PRODUCER,
            properties: configuration.librdkafkaProperties,
            context: RDKafkaClientContext(logger: logger, onDeliveryReport: { pending.deliver($0) })
        )
        self.client = client
        self.pending = pending
        self.configuration = configuration
        self.logger = logger
        // Serves delivery reports, logs and errors as they arrive.
        self.poller = PollingThread(name: "billsync-producer-poll") {
            rd_kafka_poll(client.pointer, 100)
        }
        poller.start()
    }

    /// Sends one message and waits until the broker acknowledged it.
    /// - Throws: `KafkaError` when it could not be queued or the broker did not take it.
    @discardableResult
    public func send(_ message: KafkaProducerMessage) async throws(KafkaError) -> KafkaDeliveryReport {
        let id = pending.register()
        do throws(KafkaError) {
            try await enqueue(message, opaque: id)
        } catch {
            pending.cancel(id)
            throw error
        }
        let report = await pending.report(for: id)
        if let error = report.error { throw error }
        return report
    }

    /// Sends many messages and waits for every acknowledgement; returns the reports in order.
    /// Nothing is lost on failure: the first failed report's error is thrown after all are in.
    public func sendAll(_ messages: [KafkaProducerMessage]) async throws(KafkaError) -> [KafkaDeliveryReport] {
        try await enqueueAll(messages).reports()
    }

    /// Queues many messages in order and returns once they are queued, so the caller can do
    /// other work while the broker acknowledges them; `reports()` waits for the acknowledgements.
    public func enqueueAll(_ messages: [KafkaProducerMessage]) async throws(KafkaError) -> KafkaPendingDeliveries {
        var ids: [UInt] = []
        ids.reserveCapacity(messages.count)
        for message in messages {
            let id = pending.register()
            do throws(KafkaError) {
                try await enqueue(message, opaque: id)
            } catch {
                pending.cancel(id)
                _ = await pending.reports(for: ids)
                throw error
            }
            ids.append(id)
        }
        return KafkaPendingDeliveries(ids: ids, pending: pending)
    }

    /// Queues a message and returns without waiting for the broker. Its delivery report goes to
    /// `onDelivery` (on librdkafka's polling thread: keep it short) and into `counters`.
    public func sendDetached(
        _ message: KafkaProducerMessage,
        onDelivery: (@Sendable (KafkaDeliveryReport) -> Void)? = nil
    ) async throws(KafkaError) {
        let id = onDelivery.map { pending.register(callback: $0) } ?? 0
        do throws(KafkaError) {
            try await enqueue(message, opaque: id)
        } catch {
            if id != 0 { pending.cancel(id) }
            throw error
        }
    }

    /// Totals of enqueued, delivered and failed messages since the producer was created.
    public var counters: KafkaProducerCounters { pending.counters }

    /// The most recent failed delivery, if any.
    public var lastDeliveryFailure: KafkaError? { pending.lastFailure }

    /// Waits until every queued message has a delivery report, or the timeout passes.
    public func flush(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        let client = self.client
        let milliseconds = Int32(clamping: timeout.milliseconds)
        try await BlockingWork.run { () throws(KafkaError) in
            let result = rd_kafka_flush(client.pointer, milliseconds)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                let left = rd_kafka_outq_len(client.pointer)
                throw KafkaError(code: result, context: "flush left \(left) message(s) undelivered")
            }
        }
    }

    /// Flushes and stops serving callbacks. The producer cannot send afterwards.
    public func shutdown(timeout: Duration = .seconds(30)) async {
        do {
            try await flush(timeout: timeout)
        } catch {
            logger.error("producer shut down with undelivered messages", metadata: [LogKeys.kafkaError: "\(error)"])
        }
        await poller.stop()
    }

    private func enqueue(_ message: KafkaProducerMessage, opaque: UInt) async throws(KafkaError) {
        let clock = ContinuousClock()
        // Read the clock only once the queue is full: on the common path it costs as much as
        // the rest of the send.
        var deadline: ContinuousClock.Instant?
        while true {
            guard !poller.isStopRequested else {
                throw KafkaError(kind: .shutdown, message: "the producer was shut down")
            }
            let result = RDKafkaProduce.produce(message, opaque: opaque, on: client.pointer)
            switch result {
            case .queued:
                pending.countEnqueued()
                return
            case .queueFull where clock.now < (deadline ?? clock.now.advanced(by: configuration.deliveryTimeout)):
                if deadline == nil { deadline = clock.now.advanced(by: configuration.deliveryTimeout) }
                // Wait for deliveries to make room, without holding a thread.
                do { try await Task.sleep(for: .milliseconds(1)) } catch {
                    throw KafkaError(kind: .shutdown, message: "sending was cancelled while the queue was full")
                }
            case .queueFull:
                throw KafkaError(code: RD_KAFKA_RESP_ERR__QUEUE_FULL, context: "producer queue stayed full")
            case .failed(let error):
                throw error
            }
        }
    }
}

extension KafkaProducer: Service {
    /// Keeps the producer alive until the service group shuts down, then flushes.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }
}

/// Messages queued by `enqueueAll`, whose acknowledgements are still to come.
public struct KafkaPendingDeliveries: Sendable {
    let ids: [UInt]
    let pending: PendingDeliveries

    public var count: Int { ids.count }

    /// Waits for every acknowledgement; returns the reports in order, or throws the first failed
    /// report's error once all are in (so nothing is left unaccounted for).
    public func reports() async throws(KafkaError) -> [KafkaDeliveryReport] {
        let reports = await pending.reports(for: ids)
        if let failure = reports.first(where: { $0.error != nil })?.error { throw failure }
        return reports
    }
}
