import BillsyncMapping
import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
import BillsyncRuntime
import Foundation

/// The transformer stage: each raw billing record becomes the CRM upserts its mapping names,
/// keyed by the record's business key; a record that breaks a rule goes to the dead-letter topic
/// naming the rule and field; an upsert whose values Salesforce already holds (by billsync's own load) is not sent again.
public struct TransformerHandler: StageHandler {
    public typealias Input = MessageEnvelope<AnyBillingRecord>

    public let mapper: RecordMapper
    public let writer: UpsertWriter

    /// How many cores a batch is transformed on (`stage.parallelism`).
    let parallelism: Int

    /// `loaded` is change suppression's memory of what Salesforce holds; nil sends every upsert.
    public init(mapper: RecordMapper, loaded: LoadedRecords?, outputTopic: String, contracts: MessageContracts,
                parallelism: Int = StageRuntimeConfiguration.defaultParallelism) {
        self.mapper = mapper
        self.writer = UpsertWriter(loaded: loaded, outputTopic: outputTopic, contracts: contracts)
        self.parallelism = parallelism
    }

    /// A whole chunk at once: it is cut into one slice per core, not into calls.
    public var batchSize: Int { 10_000 }

    public func handle(_ batch: [ContractMessage<AnyBillingRecord>]) async -> [Result<[OutgoingMessage], StageFailure>] {
        let transformed = await batch.mapSideBySide(parts: parallelism) { [self] slice in transform(slice) }
        return commit(transformed)
    }

    /// Maps and encodes each input's upserts; nothing is decided about sending yet.
    func transform(_ batch: ArraySlice<ContractMessage<AnyBillingRecord>>) -> [Result<UpsertWriter.Pending, StageFailure>] {
        // Rows of one file carry the same columns header: it is parsed, and each object's renamed
        // columns written, once per run of equal headers.
        var lastColumns: (text: String, parsed: JSONObject?)?
        var renamedColumns: [RenamedColumnsKey: KafkaHeader?] = [:]
        return batch.map { message in
            var pending = UpsertWriter.Pending()
            // In the order `RecordMapper.map` answers for them.
            let objects = mapper.objectsByType[message.envelope.type] ?? []
            let text = message.lineage.last(named: StageHeaders.originColumns)
            let columns: JSONObject?
            if let text, let last = lastColumns, last.text == text {
                columns = last.parsed
            } else {
                columns = Self.columns(message.lineage)
                renamedColumns = [:]
                lastColumns = text.map { ($0, columns) }
            }
            let kept = message.lineage.filter { $0.name != StageHeaders.originColumns }
            for (index, result) in mapper.map(message.envelope.payload.fields, type: message.envelope.type).enumerated() {
                switch result {
                case let .failure(rejection):
                    return .failure(.permanent("rule.\(rejection.rule)", rejection.description, pointer: rejection.pointer))
                case let .success(upsert):
                    var headers: [KafkaHeader] = []
                    if index < objects.count {
                        headers = kept
                        let key = RenamedColumnsKey(type: message.envelope.type, object: index)
                        let renamed: KafkaHeader?
                        if let known = renamedColumns[key] {
                            renamed = known
                        } else {
                            renamed = Self.renamedColumns(columns, for: objects[index])
                            renamedColumns[key] = .some(renamed)
                        }
                        if let renamed { headers.append(renamed) }
                    }
                    do {
                        try writer.add(upsert, index: index, from: message.envelope, replayed: message.replayID != nil,
                                       headers: headers, to: &pending)
                    } catch {
                        return .failure(StageFailure(unexpected: error))
                    }
                }
            }
            return .success(pending)
        }
    }

    /// What is sent of each input's upserts, decided in the inputs' order.
    func commit(_ transformed: [Result<UpsertWriter.Pending, StageFailure>]) -> [Result<[OutgoingMessage], StageFailure>] {
        transformed.map { result in
            result.flatMap { pending in
                do {
                    return .success(try writer.commit(pending))
                } catch {
                    return .failure(StageFailure(unexpected: error))
                }
            }
        }
    }

    public func acknowledged(_ outputs: [OutgoingMessage]) async throws {
        writer.acknowledged(outputs)
    }

    /// One record type's object mapping: the rows of a file yield several types under one header.
    struct RenamedColumnsKey: Hashable {
        let type: MessageType
        let object: Int
    }

    /// An upsert is its raw record in the CRM's shape: it keeps the record's file, line and row
    /// (the input's lineage headers), and its columns are renamed to the upsert's fields (this
    /// header), so a refusal at the loader still names the column the refused field came from.
    static func renamedColumns(_ columns: JSONObject?, for mapping: MappingDocument.ObjectMapping) -> KafkaHeader? {
        guard let columns else { return nil }
        var renamed = JSONObject()
        for field in mapping.fields {
            if let target = field.to, let column = columns[field.from] { renamed["fields.\(target)"] = column }
        }
        if mapping.externalIdFrom.count == 1, let column = columns[mapping.externalIdFrom[0]] { renamed["externalId"] = column }
        return renamed.count > 0 ? KafkaHeader(name: StageHeaders.originColumns, value: JSONValue.object(renamed).serialized()) : nil
    }

    /// The input's columns (parsed once per input, however many upserts it yields).
    static func columns(_ headers: [KafkaHeader]) -> JSONObject? {
        guard let text = headers.last(named: StageHeaders.originColumns),
              case let .object(columns)? = try? JSONParser.parse(Array(text.utf8)) else { return nil }
        return columns
    }
}
