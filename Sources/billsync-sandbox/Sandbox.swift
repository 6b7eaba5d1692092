import ArgumentParser
import BillsyncSandbox
import Hummingbird
import Logging
import Foundation

/// The stand-ins for the systems billsync cannot reach here, and their sample data.
@main
struct Sandbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billsync-sandbox",
        abstract: "Sample data (and, later, emulators) for trying billsync without a Salesforce org or a billing engine.",
        subcommands: [Generate.self, Serve.self]
    )
}

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write realistic Australian energy-retail sample data as CSV files in seed 000's shape."
    )

    @Option(help: "How many customer accounts.") var accounts = 1_000
    @Option(help: "The same seed gives the same data.") var seed: UInt64 = 2026
    @Option(help: "Share of deliberately bad rows, 0 to 1.") var badRows = 0.05
    @Option(help: "Meter readings per account.") var readings = 2
    @Option(help: "Where to write the files.") var output = "sample-data"
    @Option(help: "How the export is written: standard (seed 000's shape) or legacy-windows (Windows-1252, semicolons, day-first dates, $ amounts, other column names).")
    var dialect = "standard"
    @Option(help: "Also load the accounts into the billing emulator's SQLite store at this path.") var billingStore: String?

    func validate() throws {
        guard accounts >= 0 else { throw ValidationError("--accounts must not be negative") }
        guard (0...1).contains(badRows) else { throw ValidationError("--bad-rows must be between 0 and 1") }
        guard ExportDialect.named(dialect) != nil else {
            throw ValidationError("--dialect must be \(ExportDialect.all.map(\.name).joined(separator: " or "))")
        }
    }

    func run() async throws {
        var options = SampleDataGenerator.Options(accounts: accounts)
        options.seed = seed
        options.badRowShare = badRows
        options.readingsPerAccount = readings
        let started = ContinuousClock.now
        let summary = try SampleDataGenerator(options: options).writeCSV(to: URL(fileURLWithPath: output, isDirectory: true),
                                                                         dialect: ExportDialect.named(dialect) ?? .standard)
        if let billingStore {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: billingStore).deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = try SampleDataGenerator(options: options).load(into: BillingStore(path: billingStore))
        }
        let elapsed = ContinuousClock.now - started
        print("wrote \(summary.accounts) accounts (\(summary.accountRows) rows), \(summary.readingRows) meter readings and \(summary.anomalies.count) deliberate anomalies to \(output) (\(dialect)) in \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds], width: .abbreviated)))")
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Salesforce emulator (OAuth, upsert, Collections, Bulk 2.0, limits) and the billing engine emulator on a local port."
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "The org's objects and fields (default: BILLSYNC_SANDBOX_ORG, Deploy/sandbox/salesforce-org.yaml, or the image's copy).")
    var org: String?
    @Option(help: "Milliseconds added to every API answer.") var latency = 0
    @Option(help: "Long-running API requests the org runs at once before refusing more (Salesforce: 25).") var concurrentLimit = 25
    @Option(help: "Seconds a request runs before it counts toward --concurrent-limit (Salesforce: 20).") var longRunningSeconds = 20.0
    @Option(help: "The org's My Domain host: the only one whose token endpoint grants client credentials (also reachable as the path prefix /<host>/services/oauth2/token).")
    var myDomain = "billsync-sandbox.my.salesforce.com"
    @Option(help: "Port to listen on.") var port = 8090
    @Option(help: "SQLite file the emulated org keeps its records in.") var data = "sandbox-data/salesforce.sqlite"
    @Option(help: "SQLite file of the billing engine emulator (see generate --billing-store).") var billingData = "sandbox-data/billing.sqlite"
    @Option(help: "Billing API requests allowed per second before 429.") var billingRate = 50
    @Option(help: "Daily API request limit.") var dailyLimit = 100_000
    @Option(help: "Share of records failing with UNABLE_TO_LOCK_ROW (0-1).") var lockFailures = 0.0
    @Option(help: "Share of API requests answered 503 (0-1).") var unavailable = 0.0
    @Option(help: "Expire the token in use every N API requests.") var expireTokenEvery: Int?
    @Option(help: "Seconds an access token stays valid.") var tokenLifetime = 7_200
    @Option(help: "PEM certificate or public key that verifies JWT bearer assertions.") var jwtCertificate: String?

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var configuration = SalesforceEmulatorConfiguration()
        configuration.dailyAPILimit = dailyLimit
        configuration.lockRowFailureRate = lockFailures
        configuration.serviceUnavailableRate = unavailable
        configuration.expireTokenEvery = expireTokenEvery
        configuration.tokenLifetime = .seconds(tokenLifetime)
        configuration.addedLatency = .milliseconds(latency)
        configuration.concurrentRequestLimit = concurrentLimit
        configuration.longRunningThreshold = .milliseconds(Int(longRunningSeconds * 1000))
        configuration.myDomainHost = myDomain
        // The client secret comes from the environment, never from arguments.
        if let secret = ProcessInfo.processInfo.environment["BILLSYNC_SANDBOX_SF_CLIENT_SECRET"] { configuration.clientSecret = secret }
        if let jwtCertificate { configuration.jwtPublicKeyPEM = try String(contentsOfFile: jwtCertificate, encoding: .utf8) }
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: data).deletingLastPathComponent(), withIntermediateDirectories: true)
        let orgFile = org ?? ProcessInfo.processInfo.environment["BILLSYNC_SANDBOX_ORG"]
            ?? ["Deploy/sandbox/salesforce-org.yaml", "/usr/local/share/billsync/sandbox/salesforce-org.yaml"]
            .first { FileManager.default.fileExists(atPath: $0) } ?? "Deploy/sandbox/salesforce-org.yaml"
        let store = try SalesforceRecordStore(org: SalesforceOrg(contentsOf: orgFile), path: data)
        var billingConfiguration = BillingEmulatorConfiguration()
        billingConfiguration.requestsPerSecond = billingRate
        if let token = ProcessInfo.processInfo.environment["BILLSYNC_SANDBOX_BILLING_TOKEN"] { billingConfiguration.apiToken = token }
        let billing = BillingEngineEmulator(store: try BillingStore(path: billingData), configuration: billingConfiguration)
        let server = SandboxServer(salesforce: SalesforceEmulator(store: store, configuration: configuration), billing: billing,
                                   host: host, port: port)
        try await server.application(logger: Logger(label: "billsync.sandbox")).runService()
    }
}
