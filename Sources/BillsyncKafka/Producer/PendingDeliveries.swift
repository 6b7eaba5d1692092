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
        /// Part of a group awaited as a whole (`reports(for:)`).
        case grouped(UInt)
    }

    /// Reports awaited together: resumed once, when the last one is in.
    private struct Group {
        var remaining: Int
        var reports: [UInt: KafkaDeliveryReport]
        let continuation: CheckedContinuation<[UInt: KafkaDeliveryReport], Never>
    }

    private struct State {
        var nextID: UInt = 1
        var slots: [UInt: Slot] = [:]
        var groups: [UInt: Group] = [:]
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

    /// Waits for the reports of registered messages, in their order, with one suspension for
    /// all of them: a chunk's hundreds of acknowledgements each resuming a task cost more than
    /// handling them.
    func reports(for ids: [UInt]) async -> [KafkaDeliveryReport] {
        let collected: [UInt: KafkaDeliveryReport] = await withCheckedContinuation { continuation in
            let ready: [UInt: KafkaDeliveryReport]? = state.withLock { state in
                var reports: [UInt: KafkaDeliveryReport] = [:]
                reports.reserveCapacity(ids.count)
                var waiting: [UInt] = []
                for id in ids {
                    if case .finished(let report) = state.slots[id] {
                        state.slots[id] = nil
                        reports[id] = report
                    } else {
                        waiting.append(id)
                    }
                }
                if waiting.isEmpty { return reports }
                let group = state.nextID
                state.nextID &+= 1
                for id in waiting { state.slots[id] = .grouped(group) }
                state.groups[group] = Group(remaining: waiting.count, reports: reports, continuation: continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        return ids.map { collected[$0]! }
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
        var completedGroup: Group?
        let slot: Slot? = state.withLock { state in
            if let error = report.error { state.lastFailure = error }
            guard id != 0, let slot = state.slots[id] else { return nil }
            switch slot {
            case .enqueued:
                state.slots[id] = .finished(report)
                return nil
            case .grouped(let group):
                state.slots[id] = nil
                state.groups[group]!.reports[id] = report
                state.groups[group]!.remaining -= 1
                if state.groups[group]!.remaining == 0 { completedGroup = state.groups.removeValue(forKey: group) }
                return nil
            default:
                state.slots[id] = nil
                return slot
            }
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
        case .enqueued, .finished, .grouped, nil: break
        }
        if let completedGroup { completedGroup.continuation.resume(returning: completedGroup.reports) }
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
