import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import Foundation

/// What the failure headers of a consumed message say about its history.
struct FailureHistory: Sendable {
    var attempts = 0
    var firstFailedAt: String?
    var originTopic: String?
    var originPartition: String?
    var originOffset: String?
    var dueAt: Int64?

    init(headers: [KafkaHeader]) {
        // A message that never failed (almost all) has no attempts header: one scan, not six.
        guard headers.contains(where: { $0.name == StageHeaders.attempts }) else {
            attempts = 0
            return
        }
        func value(_ name: String) -> String? {
            headers.last { $0.name == name }?.value.map { String(decoding: $0, as: UTF8.self) }
        }
        attempts = value(StageHeaders.attempts).flatMap(Int.init) ?? 0
        firstFailedAt = value(StageHeaders.firstFailedAt)
        originTopic = value(StageHeaders.originTopic)
        originPartition = value(StageHeaders.originPartition)
        originOffset = value(StageHeaders.originOffset)
        dueAt = value(StageHeaders.dueAt).flatMap(Int64.init)
    }

    /// The message's own headers, without billsync's failure headers, plus new ones describing
    /// this failure. The origin stays the first topic the message was read from.
    static func headers(
        for message: KafkaConsumerMessage, failure: StageFailure, attempts: Int, stage: String, group: String,
        worker: String, now: Date, dueAt: Date?
    ) -> [KafkaHeader] {
        let history = FailureHistory(headers: message.headers)
        let timestamp = Timestamp(now).text
        var headers = message.headers.filter { !StageHeaders.owned.contains($0.name) }
        func add(_ name: String, _ value: String) { headers.append(KafkaHeader(name: name, value: Array(value.utf8))) }
        add(StageHeaders.originTopic, history.originTopic ?? message.topic)
        add(StageHeaders.originPartition, history.originPartition ?? String(message.partition))
        add(StageHeaders.originOffset, history.originOffset ?? String(message.offset))
        add(StageHeaders.originGroup, group)
        add(StageHeaders.stage, stage)
        add(StageHeaders.errorClass, failure.errorClass.rawValue)
        add(StageHeaders.errorCode, failure.code)
        add(StageHeaders.errorMessage, String(failure.message.prefix(2000)))
        if let pointer = failure.pointer {
            add(StageHeaders.errorPointer, pointer)
            if let column = originColumn(of: pointer, in: message.headers) { add(StageHeaders.originColumn, String(column)) }
        }
        add(StageHeaders.attempts, String(attempts))
        add(StageHeaders.firstFailedAt, history.firstFailedAt ?? timestamp)
        add(StageHeaders.lastFailedAt, timestamp)
        add(StageHeaders.worker, worker)
        if let dueAt { add(StageHeaders.dueAt, String(Int64((dueAt.timeIntervalSince1970 * 1000).rounded()))) }
        return headers
    }

    /// The file column a refused field came from, when the message knows its columns.
    static func originColumn(of pointer: String, in headers: [KafkaHeader]) -> Int? {
        guard let text = headers.last(named: StageHeaders.originColumns),
              case let .object(columns)? = try? JSONParser.parse(Array(text.utf8)) else { return nil }
        let path = pointer.split(separator: "/").dropFirst().joined(separator: ".")
        guard case let .array(entry)? = columns[path], case let .number(number)? = entry.first else { return nil }
        return Int(number.text)
    }
}
