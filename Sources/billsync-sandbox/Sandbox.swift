import ArgumentParser
import BillsyncSandbox
import Foundation

/// The stand-ins for the systems billsync cannot reach here, and their sample data.
@main
struct Sandbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billsync-sandbox",
        abstract: "Sample data (and, later, emulators) for trying billsync without a Salesforce org or a billing engine.",
        subcommands: [Generate.self]
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

    func validate() throws {
        guard accounts >= 0 else { throw ValidationError("--accounts must not be negative") }
        guard (0...1).contains(badRows) else { throw ValidationError("--bad-rows must be between 0 and 1") }
    }

    func run() async throws {
        var options = SampleDataGenerator.Options(accounts: accounts)
        options.seed = seed
        options.badRowShare = badRows
        options.readingsPerAccount = readings
        let started = ContinuousClock.now
        let summary = try SampleDataGenerator(options: options).writeCSV(to: URL(fileURLWithPath: output, isDirectory: true))
        let elapsed = ContinuousClock.now - started
        print("wrote \(summary.accounts) accounts (\(summary.accountRows) rows), \(summary.readingRows) meter readings and \(summary.anomalies.count) deliberate anomalies to \(output) in \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds], width: .abbreviated)))")
    }
}
