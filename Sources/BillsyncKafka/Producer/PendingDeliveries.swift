import CRdKafka
import Synchronization

/// Connects librdkafka's delivery reports to whoever is waiting for them.
///
/// Each awaited or callback-carrying message gets an id that travels as the message's opaque;
/// the delivery callback (on librdkafka's polling thread) looks it up here. A report can arrive
/// before the sender starts waiting, so a slot also holds a finished report.
final class PendingDeliveries: Sendable {
    private enum Slot {
        case enqueued
        case finished(KafkaDeliveryReport)
        case awaiting(CheckedContinuation<KafkaDeliveryReport, Never>)
        case callback(@Sendable (KafkaDeliveryReport) -> Void)
    }

    private struct State {
        var nextID: UInt = 1
        var slots: [UInt: Slot] = [:]
        var lastFailure: KafkaError?
    }

    private let state = Mutex(State())
    // Counted without the lock: they change once per message, on the hot path.
    private let enqueued = Atomic<Int>(0)
    private let delivered = Atomic<Int>(0)
    private let failed = Atomic<Int>(0)

    var counters: KafkaProducerCounters {
        KafkaProducerCounters(
            enqueued: enqueued.load(ordering: .acquiring),
            delivered: delivered.load(ordering: .acquiring),
            failed: failed.load(ordering: .acquiring)
        )
    }

    var lastFailure: KafkaError? { state.withLock { $0.lastFailure } }

    /// Reserves an id for a message; `callback`, when given, is called with its report.
    func register(callback: (@Sendable (KafkaDeliveryReport) -> Void)? = nil) -> UInt {
        state.withLock { state in
            let id = state.nextID
            state.nextID &+= 1
            state.slots[id] = callback.map(Slot.callback) ?? .enqueued
            return id
        }
    }

    /// Forgets a reservation whose message never reached librdkafka's queue.
    func cancel(_ id: UInt) {
        _ = state.withLock { $0.slots.removeValue(forKey: id) }
    }

    func countEnqueued() {
        enqueued.add(1, ordering: .relaxed)
    }

    /// Waits for the report of a registered message.
    func report(for id: UInt) async -> KafkaDeliveryReport {
        await withCheckedContinuation { continuation in
            let ready: KafkaDeliveryReport? = state.withLock { state in
                if case .finished(let report) = state.slots[id] {
                    state.slots[id] = nil
                    return report
                }
                state.slots[id] = .awaiting(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Called from librdkafka's delivery callback.
    func deliver(_ message: UnsafePointer<rd_kafka_message_t>) {
        let id = UInt(bitPattern: message.pointee._private)
        let succeeded = message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR
        // Fast path for detached sends without a callback: nobody needs the report itself.
        if id == 0, succeeded {
            delivered.add(1, ordering: .relaxed)
            return
        }
        let report = Self.report(from: message)
        let slot: Slot? = state.withLock { state in
            if let error = report.error { state.lastFailure = error }
            guard id != 0, let slot = state.slots[id] else { return nil }
            if case .enqueued = slot {
                state.slots[id] = .finished(report)
                return nil
            }
            state.slots[id] = nil
            return slot
        }
        // Counted after the slot is settled, so a reader that sees the count sees the report too.
        if succeeded {
            delivered.add(1, ordering: .releasing)
        } else {
            failed.add(1, ordering: .releasing)
        }
        switch slot {
        case .awaiting(let continuation): continuation.resume(returning: report)
        case .callback(let callback): callback(report)
        case .enqueued, .finished, nil: break
        }
    }

    private static func report(from message: UnsafePointer<rd_kafka_message_t>) -> KafkaDeliveryReport {
        let value = message.pointee
        let topic = value.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let key = value.key.map { Array(UnsafeRawBufferPointer(start: $0, count: value.key_len)) }
        let error = value.err == RD_KAFKA_RESP_ERR_NO_ERROR
            ? nil
            : KafkaError(kind: .delivery, code: value.err, context: "delivery to \(topic)[\(value.partition)] failed")
        return KafkaDeliveryReport(
            topic: topic,
            partition: value.partition,
            offset: error == nil ? value.offset : KafkaOffset.invalid,
            key: key,
            error: error
        )
    }
}
