import BillsyncCSV
@testable import BillsyncExtractor
import BillsyncTestSupport
import Foundation
import Testing

@Suite("A drop folder reads each file once, by content, leaves files still being written, and files the rest away")
struct CSVDropFolderTests {
    func folder() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test("a file is pending until processed; the same content under another name is a duplicate; failures get a reason")
    func lifecycle() async throws {
        let directory = try folder()
        try Data("CustomerID,Name\n1,One\n".utf8).write(to: directory.appendingPathComponent("a.csv"))
        try Data("CustomerID,Name\n1,One\n".utf8).write(to: directory.appendingPathComponent("b.csv"))
        try Data("junk".utf8).write(to: directory.appendingPathComponent("c.csv"))
        let folder = CSVDropFolder(directory: directory)
        let scan = try folder.scan(alreadyProcessed: [])
        #expect(scan.pending.map(\.name) == ["a.csv", "c.csv"])
        #expect(scan.duplicates.map(\.lastPathComponent) == ["b.csv"])
        try folder.markProcessed(scan.pending[0].url, hash: scan.pending[0].contentHash)
        try folder.markFailed(scan.pending[1].url, hash: scan.pending[1].contentHash, reason: "the header has no CustomerID column")
        #expect(FileManager.default.fileExists(atPath: folder.processedDirectory.appendingPathComponent("a.csv").path))
        let reason = try String(contentsOf: folder.failedDirectory.appendingPathComponent("c.csv.reason"), encoding: .utf8)
        #expect(reason == "the header has no CustomerID column\n")
        let again = try folder.scan(alreadyProcessed: [scan.pending[0].contentHash])
        #expect(again.pending.isEmpty)
        #expect(again.duplicates.map(\.lastPathComponent) == ["b.csv"])
        // SHA-256 of the content, streamed (the same as sha256sum's).
        let expected = String(decoding: try await TestRepository.run("/usr/bin/sha256sum", [directory.appendingPathComponent("b.csv").path]), as: UTF8.self).prefix(64)
        #expect(scan.pending[0].contentHash == String(expected))
    }

    @Test("a .part or .tmp name, a hidden file, and a file changed within the settle interval are left until complete")
    func filesInProgress() throws {
        let directory = try folder()
        for name in ["billing_export.csv.part", "billing_export.tmp", ".billing_export.csv", "meter_readings.csv", "tariffs.csv"] {
            try Data("TariffCode,Name\n\(name)\n".utf8).write(to: directory.appendingPathComponent(name))
        }
        let now = Date()
        // Written a minute ago: complete. The reading file was touched just now: still being written.
        try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-60)], ofItemAtPath: directory.appendingPathComponent("tariffs.csv").path)
        try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-1)], ofItemAtPath: directory.appendingPathComponent("meter_readings.csv").path)
        let scan = try CSVDropFolder(directory: directory, settle: 5).scan(alreadyProcessed: [], now: now)
        #expect(scan.pending.map(\.name) == ["tariffs.csv"])
        #expect(Set(scan.inProgress) == ["billing_export.csv.part", "billing_export.tmp", ".billing_export.csv", "meter_readings.csv"])
        // Five seconds on, the reading file has settled.
        let later = try CSVDropFolder(directory: directory, settle: 5).scan(alreadyProcessed: [], now: now.addingTimeInterval(5))
        #expect(later.pending.map(\.name) == ["meter_readings.csv", "tariffs.csv"])
    }
}
