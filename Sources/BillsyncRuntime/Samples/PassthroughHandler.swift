import BillsyncContracts

/// The smallest stage there is: forwards each billing account, as a message derived from it
/// (same lineage, a stable id), to one output topic. It exercises the whole runtime and is
/// what the runtime's process-level tests run.
public struct PassthroughHandler: RecordHandler {
    public typealias Input = MessageEnvelope<BillingAccount>

    public let outputTopic: String
    private let contracts: MessageContracts

    public init(outputTopic: String, contracts: MessageContracts) {
        self.outputTopic = outputTopic
        self.contracts = contracts
    }

    public func handle(_ message: ContractMessage<BillingAccount>) async throws -> [OutgoingMessage] {
        let forwarded = message.envelope.derived(payload: message.envelope.payload)
        return [try OutgoingMessage(topic: outputTopic, message: forwarded, contracts: contracts)]
    }
}
