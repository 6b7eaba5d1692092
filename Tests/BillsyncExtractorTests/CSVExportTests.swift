import BillsyncContracts
import BillsyncCSV
@testable import BillsyncExtractor
import BillsyncSandbox
import BillsyncTestSupport
import Foundation
import Testing

@Suite("A billing export is read row by row; a bad row is rejected with its file, line and column")
struct CSVExportTests {
    static let header = "CustomerID,AccountID,Name,AmountDue,LastBillDate,DueDate,NMI,AddressLine1,Suburb,State,Postcode,ServiceStartDate"

    func read(_ text: String, file: String = "export.csv") throws -> [Result<BillingExportRow, RowRejection>] {
        try read(bytes: Array(text.utf8), file: file)
    }

    func read(bytes: [UInt8], file: String = "export.csv") throws -> [Result<BillingExportRow, RowRejection>] {
        var reader = CSVRecordReader(bytes: bytes)
        guard case let .success(header)? = reader.next() else { throw CSVError(line: 1, column: 1, reason: "no header") }
        let mapping = try BillingExportMapping(header: header, file: file)
        var results: [Result<BillingExportRow, RowRejection>] = []
        while let next = reader.next() {
            switch next {
            case let .success(record): results.append(mapping.map(record))
            case let .failure(error): results.append(.failure(RowRejection(file: file, line: error.line, column: error.column, field: "(row)", reason: error.reason)))
            }
        }
        return results
    }

    @Test("a good row gives the account, its bill and its premise, with leading zeros and exact amounts")
    func goodRow() throws {
        let rows = try read(Self.header + "\n0001234567,ACC-1,Acme Pty Ltd,1523.40,2026-11-14,2026-12-14,63050001234,12 Collins St,Melbourne,VIC,3000,2019-07-01\n")
        let row = try #require(try rows.first?.get())
        #expect(row.account.customerId == "0001234567")
        #expect(row.account.name == "Acme Pty Ltd")
        #expect(row.bill?.amountDue == Money(parsing: "1523.40"))
        #expect(row.bill?.lastBillDate == LocalDate(year: 2026, month: 11, day: 14))
        #expect(row.premise?.nmi == "63050001234")
        #expect(row.premise?.address.state == .VIC)
    }

    @Test("a BOM, CRLF line ends, a reordered header and extra columns change nothing")
    func formatVariants() throws {
        let text = "Name,Extra,CustomerID,AmountDue,LastBillDate\r\nAcme,x,0000000042,10.5,2026-01-31\r\n"
        let rows = try read(bytes: [0xEF, 0xBB, 0xBF] + Array(text.utf8))
        let row = try #require(try rows.first?.get())
        #expect(row.account.customerId == "0000000042")
        #expect(row.bill?.amountDue == Money(parsing: "10.50"))
    }

    @Test("quoted fields keep their commas, quotes and line breaks, and later lines keep their numbers")
    func quoting() throws {
        let text = "CustomerID,Name,Notes\n0000000001,\"Smith, Jones & Co\",\"said \"\"hi\"\"\nthen left\"\n0000000002,Two,\n"
        let rows = try read(text)
        #expect(try rows[0].get().account.name == "Smith, Jones & Co")
        #expect(try rows[0].get().account.businessDescription == "said \"hi\"\nthen left")
        #expect(try rows[1].get().line == 4)
    }

    @Test("stray whitespace is trimmed, not rejected")
    func whitespace() throws {
        let rows = try read("CustomerID,Name\n  0000000007 ,  Seven  \n")
        #expect(try rows[0].get().account.customerId == "0000000007")
        #expect(try rows[0].get().account.name == "Seven")
    }

    @Test("each bad row is rejected with the exact reason, and the rows after it are still read", arguments: [
        ("0001234567,ACC-1,Acme,1523.405,2026-11-14", 4, "AmountDue", "'1523.405' is not an amount with at most two decimals"),
        ("0001234567,ACC-1,Acme,1523.40,14/11/2026", 5, "LastBillDate", "'14/11/2026' is not a YYYY-MM-DD date"),
        (",ACC-1,Acme,1.00,2026-11-14", 1, "CustomerID", "is empty"),
        ("12-34,ACC-1,Acme,1.00,2026-11-14", 1, "CustomerID", "'12-34' is not a customer number (digits only)"),
        ("0001234567,ACC-1,,1.00,2026-11-14", 3, "Name", "is empty"),
        ("0001234567,ACC-1,Acme,1.00,2026-02-30", 5, "LastBillDate", "'2026-02-30' is not a YYYY-MM-DD date"),
        ("0001234567,ACC-1,Acme,1.00,2026-11-14,extra", 6, "(row)", "the row has 6 fields, the header 5"),
    ])
    func badRows(row: String, column: Int, field: String, reason: String) throws {
        let rows = try read("CustomerID,AccountID,Name,AmountDue,LastBillDate\n\(row)\n0000000009,ACC-9,Nine,1.00,2026-11-14\n", file: "drop.csv")
        guard case let .failure(rejection) = rows[0] else { Issue.record("accepted \(row)"); return }
        #expect(rejection == RowRejection(file: "drop.csv", line: 2, column: column, field: field, reason: reason))
        #expect(try rows[1].get().account.customerId == "0000000009")
    }

    @Test("an unterminated quote rejects the rest of the file with its line, and a missing column rejects the file")
    func malformedFiles() throws {
        let rows = try read("CustomerID,Name\n0000000001,One\n0000000002,\"Two\n")
        #expect(try rows[0].get().account.name == "One")
        guard case let .failure(rejection) = rows[1] else { Issue.record("accepted an open quote"); return }
        #expect(rejection.line == 3)
        #expect(throws: RowRejection.self) { try read("AccountID,Name\nA,B\n") }
    }

    @Test("the generator's export reads with exactly the listed anomalies rejected")
    func generatedExport() throws {
        var options = SampleDataGenerator.Options(accounts: 2_000)
        options.badRowShare = 0.1
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)")
        let summary = try SampleDataGenerator(options: options).writeCSV(to: directory)
        let rows = try read(bytes: [UInt8](try Data(contentsOf: directory.appendingPathComponent("billing_export.csv"))), file: "billing_export.csv")
        let rejectedLines = Set(rows.compactMap { if case let .failure(rejection) = $0 { rejection.line } else { nil } })
        let expectedLines = Set(summary.anomalies.filter { $0.file == "billing_export.csv" && $0.expected == .rejected && $0.kind != .badNMIChecksum }.map(\.line))
        // An NMI with a wrong check digit is well-formed; the transformer's rule rejects it.
        #expect(rejectedLines == expectedLines)
        #expect(rows.count == summary.accountRows)
    }

    @Test("a meter-reading export is recognised by its header and read exactly; a bad unit or date names its column")
    func meterReadings() throws {
        let text = "NMI,MeterID,ReadingDate,Reading,Unit,Quality\n6305000123,MTR-1,2026-03-15,1234.567,kwh,a\n6305000123,MTR-1,15/03/2026,1,kWh,A\n6305000123,MTR-1,2026-03-15,1,litres,A\n"
        var reader = CSVRecordReader(bytes: Array(text.utf8))
        guard case let .success(header)? = reader.next() else { throw CSVError(line: 1, column: 1, reason: "no header") }
        let mapping = try CSVExportFormat.mapping(header: header, file: "meter_readings.csv")
        #expect(mapping is MeterReadingExportMapping)
        var results: [Result<[ExportRecord], RowRejection>] = []
        while case let .success(record)? = reader.next() { results.append(mapping.records(of: record)) }
        let first = try #require(try results[0].get().first)
        let reading = try #require(first.payload as? BillingMeterReading)
        #expect(first.entity == "meter-reading" && first.key == "6305000123")
        #expect(reading.reading == Quantity(parsing: "1234.567") && reading.unit == .kWh && reading.quality == .A)
        #expect(throws: RowRejection.self) { try results[1].get() }
        if case let .failure(rejection) = results[1] { #expect(rejection.field == "ReadingDate" && rejection.line == 3 && rejection.column == 3) }
        if case let .failure(rejection) = results[2] { #expect(rejection.field == "Unit" && rejection.reason.contains("litres")) }
    }

    @Test("an account export's row yields its account, bill and premise records, each with its business key")
    func accountExportRecords() throws {
        let text = CSVExportTests.header + "\n0001234567,ACC-1,Acme Pty Ltd,1523.40,2026-11-14,2026-12-14,63050001234,12 Collins St,Melbourne,VIC,3000,2019-07-01\n"
        var reader = CSVRecordReader(bytes: Array(text.utf8))
        guard case let .success(header)? = reader.next(), case let .success(row)? = reader.next() else { throw CSVError(line: 1, column: 1, reason: "unreadable") }
        let records = try CSVExportFormat.mapping(header: header, file: "export.csv").records(of: row).get()
        #expect(records.map(\.entity) == ["account", "bill", "premise"])
        #expect(records.map(\.key) == ["0001234567", "0001234567", "63050001234"])
    }
}

@Suite("A drop folder reads each file once, by content, and files it away")
struct CSVDropFolderTests {
    @Test("a file is pending until processed; the same content under another name is a duplicate; failures get a reason")
    func lifecycle() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data("CustomerID,Name\n1,One\n".utf8).write(to: directory.appendingPathComponent("a.csv"))
        try Data("CustomerID,Name\n1,One\n".utf8).write(to: directory.appendingPathComponent("b.csv"))
        try Data("junk".utf8).write(to: directory.appendingPathComponent("c.csv"))
        try Data("ignored".utf8).write(to: directory.appendingPathComponent("notes.txt"))
        let folder = CSVDropFolder(directory: directory)
        let scan = try folder.pendingFiles(alreadyProcessed: [])
        #expect(scan.pending.map(\.name) == ["a.csv", "c.csv"])
        #expect(scan.duplicates.map(\.lastPathComponent) == ["b.csv"])
        try folder.markProcessed(scan.pending[0].url, hash: scan.pending[0].contentHash)
        try folder.markFailed(scan.pending[1].url, hash: scan.pending[1].contentHash, reason: "the header has no CustomerID column")
        #expect(FileManager.default.fileExists(atPath: folder.processedDirectory.appendingPathComponent("a.csv").path))
        let reason = try String(contentsOf: folder.failedDirectory.appendingPathComponent("c.csv.reason"), encoding: .utf8)
        #expect(reason == "the header has no CustomerID column\n")
        let again = try folder.pendingFiles(alreadyProcessed: [scan.pending[0].contentHash])
        #expect(again.pending.isEmpty)
        #expect(again.duplicates.map(\.lastPathComponent) == ["b.csv"])
        #expect(scan.pending[0].contentHash == CSVDropFolder.sha256(Array("CustomerID,Name\n1,One\n".utf8)))
        #expect(scan.pending[0].contentHash.count == 64)
    }
}
