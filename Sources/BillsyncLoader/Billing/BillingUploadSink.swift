import BillsyncContracts
import BillsyncJSON
import BillsyncRuntime
import BillsyncHTTP
import Foundation

/// The way back to the billing engine (seed 001: meter readings into billing): raw records
/// uploaded to the engine's upload API in batches, each with an idempotency key derived from the
/// message id, so a retried or replayed upload is recognised by the engine ("unchanged") instead
/// of booked twice. Each record's outcome goes to the results topic; a record the engine rejects
/// is dead-lettered with its reason; 429s, 5xx and timeouts are retried.
public struct BillingUploadSink: Sink {
    public static let kind = CRMLoadResult.Sink.billing
    public typealias Input = MessageEnvelope<AnyBillingRecord>

    /// Upload kind per raw record type, and the name its results are filed under.
    public static let kinds: [MessageType: (kind: String, object: String)] = [
        .billingMeterReading: ("meter-readings", "Meter_Reading"),
        .billingContact: ("customer-changes", "Customer_Change"),
    ]

    public let baseURL: URL
    /// Read from the environment or a file by the caller; never logged.
    let token: String
    public let resultsTopic: String
    public var recordsPerCall = 500
    let contracts: MessageContracts
    /// The process's HTTP client (the loader worker's own; `.shared` for a test).
    public var http: HTTPTransport = .shared

    public init(baseURL: URL, token: String, resultsTopic: String, contracts: MessageContracts) {
        self.baseURL = baseURL
        self.token = token
        self.resultsTopic = resultsTopic
        self.contracts = contracts
    }

    public var batchSize: Int { recordsPerCall }

    public func handle(_ batch: [ContractMessage<AnyBillingRecord>]) async -> [Result<[OutgoingMessage], StageFailure>] {
        var results = [Result<[OutgoingMessage], StageFailure>?](repeating: nil, count: batch.count)
        var byKind: [String: [Int]] = [:]
        for (index, message) in batch.enumerated() {
            guard let kind = Self.kinds[message.envelope.type] else {
                results[index] = .failure(.permanent("billing.unsupported", "\(message.envelope.type.rawValue) records have no billing upload"))
                continue
            }
            byKind[kind.kind, default: []].append(index)
        }
        for (kind, indices) in byKind {
            do {
                let answers = try await upload(kind: kind, indices.map { batch[$0] })
                for (index, answer) in zip(indices, answers) { results[index] = answer }
            } catch let failure as StageFailure {
                for index in indices { results[index] = .failure(failure) }
            } catch {
                for index in indices { results[index] = .failure(StageFailure(unexpected: error)) }
            }
        }
        return results.map { $0 ?? .failure(.transient("billing.no-result", "no outcome was recorded")) }
    }

    /// The idempotency key: the message id, kept across retries and redrives.
    static func key(_ message: ContractMessage<AnyBillingRecord>) -> String { message.envelope.id.uuidString.lowercased() }

    func upload(kind: String, _ messages: [ContractMessage<AnyBillingRecord>]) async throws -> [Result<[OutgoingMessage], StageFailure>] {
        var records: [JSONValue] = []
        for message in messages {
            guard case var .object(fields) = message.envelope.payload.fields else { continue }
            // The engine's snake_case names, as its export uses them.
            var record = JSONObject()
            for name in fields.keys { record[Self.snakeCase(name)] = fields[name] }
            record["idempotency_key"] = .string(Self.key(message))
            fields = record
            records.append(.object(fields))
        }
        let answer: HTTPAnswer
        do {
            answer = try await http.send("POST", baseURL.appendingPathComponent("billing/v1/uploads/\(kind)"),
                                         headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
                                         body: JSONValue.array(records).serialized(), timeout: .seconds(60))
        } catch {
            throw StageFailure.transient("billing.unreachable", error.reason)
        }
        let (status, data) = (answer.status, answer.body)
        guard status == 200 else {
            let reason = String(decoding: data.prefix(300), as: UTF8.self)
            if status == 429 || status >= 500 { throw StageFailure.transient("billing.http-\(status)", reason) }
            throw StageFailure.permanent("billing.http-\(status)", reason)
        }
        guard case let .array(answers)? = (try? JSONParser.parse([UInt8](data)))?["results"], answers.count == messages.count else {
            throw StageFailure.transient("billing.answer", "the upload answer does not list one result per record")
        }
        let object = Self.kinds.values.first { $0.kind == kind }?.object ?? "Billing_Upload"
        let results = LoadResults(sink: .billing, topic: resultsTopic, contracts: contracts)
        return try zip(messages, answers).map { message, answer in
            let key = Self.key(message)
            let status = answer["status"]?.stringValue ?? ""
            let outcome: CRMLoadResult.Outcome = status == "created" ? .created : status == "unchanged" ? .updated : .failed
            let errors = outcome == .failed
                ? [CRMLoadResult.RecordError(code: "REJECTED", message: answer["error"]?.stringValue ?? "rejected by the billing engine")] : []
            let result = try results.message(for: message, object: object, externalIdField: "idempotency_key", externalId: key,
                                             outcome: outcome, recordId: key, errors: errors)
            guard outcome == .failed else { return .success([result]) }
            var failure = StageFailure.permanent("billing.rejected", errors[0].message)
            failure.companions = [result]
            return .failure(failure)
        }
    }

    static func snakeCase(_ name: String) -> String {
        var output = ""
        for character in name {
            if character.isUppercase { output += "_" + character.lowercased() } else { output.append(character) }
        }
        return output
    }
}
