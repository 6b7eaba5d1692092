import BillsyncContracts
import Foundation

/// Writes a sync report as `<directory>/<finished>-<runId>/report.json` (the `sync-report.v1`
/// message, validated by the contracts on the way out), `report.md` and `report.html`.
public struct SyncReportFiles: Sendable {
    public let contracts: MessageContracts
    /// The envelope's `source.name`: the worker that wrote the report.
    public var writtenBy: String

    public init(contracts: MessageContracts, writtenBy: String = "alerter") {
        self.contracts = contracts
        self.writtenBy = writtenBy
    }

    /// Writes the three files (each replaced whole, never left half-written) and returns where.
    /// Throws a `ContractViolation` when the report breaks its schema; nothing is written then.
    @discardableResult
    public func write(_ report: SyncReport, to directory: URL) throws -> (json: URL, markdown: URL, html: URL) {
        let json = try contracts.encode(report.message(writtenBy: writtenBy))
        let folder = directory.appendingPathComponent(Self.folderName(of: report), isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let files = (json: folder.appendingPathComponent("report.json"), markdown: folder.appendingPathComponent("report.md"),
                     html: folder.appendingPathComponent("report.html"))
        try Data(json + [0x0A]).write(to: files.json, options: .atomic)
        try Data(SyncReportMarkdown(report).rendered.utf8).write(to: files.markdown, options: .atomic)
        try Data(SyncReportHTML(report).rendered.utf8).write(to: files.html, options: .atomic)
        return files
    }

    /// `20261121T000512Z-c1d2e3f4-…`: sorts by when the run finished, in UTC.
    public static func folderName(of report: SyncReport) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: report.finishedAt.date)
        let stamp = String(format: "%04d%02d%02dT%02d%02d%02dZ", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0,
                           parts.minute ?? 0, parts.second ?? 0)
        return "\(stamp)-\(report.runId.uuidString.lowercased())"
    }
}
