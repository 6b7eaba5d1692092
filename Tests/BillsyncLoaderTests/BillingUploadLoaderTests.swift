import BillsyncContracts
import BillsyncJSON
import BillsyncLoader
import BillsyncRuntime
import BillsyncSandbox
import BillsyncTestSupport
import Foundation
import Logging
import Testing

@Suite("Meter readings go back to the billing engine once each, however often they are sent")
struct BillingUploadLoaderTests {
    func reading(_ number: Int, nmi: String = "6305000123") -> ContractMessage<AnyBillingRecord> {
        var envelope = MessageEnvelope(id: UUID(derivedFrom: "reading-\(number)"), source: MessageSource(system: .sql, name: "mdm"),
                                       businessKey: "MTR-\(number)", occurredAt: nil, payload: AnyBillingRecord(fields: .object(JSONObject([
                                           "meterId": .string("MTR-\(number)"), "nmi": .string(nmi), "readingDate": .string("2026-11-15"),
                                           "reading": .string("12.5"), "unit": .string("kWh"), "quality": .string("A"),
                                       ]))))
        envelope.type = .billingMeterReading
        return StageMessage(envelope: envelope, topic: "raw", partition: 0, offset: Int64(number), logger: Logger(label: "test"))
    }

    @Test("50 readings are created, sent again they are recognised as unchanged, and one without an NMI is dead-lettered with the engine's reason")
    func uploads() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("billing-up-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try BillingStore(path: directory.appendingPathComponent("billing.sqlite").path)
        let salesforce = SalesforceEmulator(store: try SalesforceRecordStore(org: SalesforceOrg(objects: []), path: directory.appendingPathComponent("sf.sqlite").path),
                                            configuration: SalesforceEmulatorConfiguration())
        var logger = Logger(label: "billing.test")
        logger.logLevel = .critical
        let server = SandboxServer(salesforce: salesforce, billing: BillingEngineEmulator(store: store, configuration: BillingEmulatorConfiguration()), port: 0)
        try await server.serving(logger: logger) { base in
            let handler = BillingUploadSink(baseURL: base, token: BillingEmulatorConfiguration().apiToken, resultsTopic: "results",
                                                   contracts: TestRepository.contracts)
            let readings = (0..<50).map { reading($0) }
            func outcomes(_ results: [Result<[OutgoingMessage], StageFailure>]) throws -> [CRMLoadResult.Outcome] {
                try results.map { try TestRepository.contracts.decode(try $0.get()[0].value, as: CRMLoadResult.self).payload.outcome }
            }
            #expect(try outcomes(await handler.handle(readings)) == Array(repeating: .created, count: 50))
            #expect(try outcomes(await handler.handle(readings)) == Array(repeating: .updated, count: 50))
            #expect(try store.uploadCount(kind: "meter-readings") == 50)

            let rejected = await handler.handle([reading(99, nmi: "")])
            guard case let .failure(failure) = rejected[0] else {
                Issue.record("a reading without an NMI was accepted")
                return
            }
            #expect(failure.errorClass == .permanent && failure.message == "nmi is required", "\(failure)")
            let result = try TestRepository.contracts.decode(failure.companions[0].value, as: CRMLoadResult.self).payload
            #expect(result.sink == .billing && result.outcome == .failed)

            let refused = BillingUploadSink(baseURL: base, token: "wrong", resultsTopic: "results", contracts: TestRepository.contracts)
            guard case let .failure(unauthorised) = await refused.handle([reading(1)])[0] else {
                Issue.record("a wrong token was accepted")
                return
            }
            #expect(unauthorised.errorClass == .permanent && unauthorised.code == "billing.http-401")
        }
    }
}
