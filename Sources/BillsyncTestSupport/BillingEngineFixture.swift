import BillsyncSandbox
import Foundation
import Logging

/// The billing engine emulator with `accounts` generated accounts, served on a free port for as
/// long as `body` runs (beside an empty Salesforce org, which the sandbox server always has).
public func withBillingEngine<T: Sendable>(accounts: Int, configuration: BillingEmulatorConfiguration = BillingEmulatorConfiguration(),
                                           _ body: @Sendable (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("billing-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let store = try BillingStore(path: directory.appendingPathComponent("billing.sqlite").path)
    _ = try SampleDataGenerator(options: .init(accounts: accounts)).load(into: store)
    let salesforce = SalesforceEmulator(store: try SalesforceRecordStore(org: SalesforceOrg(objects: []), path: directory.appendingPathComponent("sf.sqlite").path),
                                        configuration: SalesforceEmulatorConfiguration())
    var logger = Logger(label: "billing.test")
    logger.logLevel = .critical
    return try await SandboxServer(salesforce: salesforce, billing: BillingEngineEmulator(store: store, configuration: configuration),
                                   port: 0).serving(logger: logger, body)
}
