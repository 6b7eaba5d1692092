import BillsyncContracts
import BillsyncCSV
@testable import BillsyncExtractor
import BillsyncJSON
import BillsyncMapping
import BillsyncSandbox
import BillsyncTestSupport
import Foundation
import Testing

/// Reads bytes as the named file through a source mapping (the shipped one by default), the way
/// the extractor does, without a broker.
func readExport(_ bytes: [UInt8], file: String = "billing_export.csv",
                mappings: SourceMappingDocument? = nil) throws -> [Result<[ExportRecord], RowRejection>] {
    let document = try mappings ?? SourceMappingDocument(contentsOf: TestRepository.sourceMappingFile)
    let source = try #require(document.source(forFile: file))
    var reader = try SourceFileReader(bytes: bytes, name: file, source: source)
    var rows: [Result<[ExportRecord], RowRejection>] = []
    while let row = try reader.next() {
        switch row {
        case let .records(records, _): rows.append(.success(records))
        case let .refused(rejection, _): rows.append(.failure(rejection))
        }
    }
    return rows
}

func readExport(_ text: String, file: String = "billing_export.csv", mappings: SourceMappingDocument? = nil) throws -> [Result<[ExportRecord], RowRejection>] {
    try readExport(Array(text.utf8), file: file, mappings: mappings)
}

extension ExportRecord {
    /// A field's value as text (a flag as `true`/`false`); nil when the record has none.
    subscript(_ path: String) -> String? {
        var value: JSONValue? = payload
        for part in path.split(separator: ".") { value = value?[String(part)] }
        switch value {
        case let .string(text)?: return text
        case let .bool(flag)?: return String(flag)
        default: return nil
        }
    }
}

@Suite("The shipped source mapping reads seed 000's export row by row; a bad row is refused with its file, line and column")
struct SourceMappingExportTests {
    static let header = "CustomerID,AccountID,Name,AmountDue,LastBillDate,DueDate,NMI,AddressLine1,Suburb,State,Postcode,ServiceStartDate"

    @Test("a good row gives the account, its bill and its premise, with leading zeros and exact amounts")
    func goodRow() throws {
        let rows = try readExport(Self.header + "\n0001234567,ACC-1,Acme Pty Ltd,1523.40,2026-11-14,2026-12-14,63050001234,12 Collins St,Melbourne,vic,3000,2019-07-01\n")
        let records = try #require(try rows.first?.get())
        #expect(records.map(\.entity) == ["account", "bill", "premise"])
        #expect(records.map(\.key) == ["0001234567", "0001234567", "63050001234"])
        #expect(records[0]["customerId"] == "0001234567" && records[0]["name"] == "Acme Pty Ltd" && records[0]["primaryAddress.state"] == "VIC")
        #expect(records[0]["accountType"] == "residential" && records[0]["status"] == "active")
        #expect(records[1]["amountDue"] == "1523.40" && records[1]["billId"] == "BILL-0001234567-2026-11-14" && records[1]["currency"] == "AUD")
        #expect(records[2]["premiseId"] == "PR-63050001234" && records[2]["accountId"] == "ACC-1" && records[2]["active"] == "true")
        #expect(records[2]["_customerId"] == nil)
    }

    @Test("a BOM, CRLF line ends, a reordered header with other case and spacing, and extra columns change nothing")
    func formatVariants() throws {
        let text = "name,Extra, customer id ,AmountDue,Last_Bill_Date\r\nAcme,x,0000000042,10.5,2026-01-31\r\n"
        let records = try #require(try readExport([0xEF, 0xBB, 0xBF] + Array(text.utf8)).first?.get())
        #expect(records[0]["customerId"] == "0000000042" && records[0]["accountId"] == "ACC-0000000042")
        #expect(records[1]["amountDue"] == "10.5" && records[1]["dueDate"] == "2026-01-31")
    }

    @Test("quoted fields keep their commas, quotes and line breaks, and later lines keep their numbers")
    func quoting() throws {
        let text = "CustomerID,Name,Notes\n0000000001,\"Smith, Jones & Co\",\"said \"\"hi\"\"\nthen left\"\n0000000002,Two,\n"
        let rows = try readExport(text)
        #expect(try rows[0].get()[0]["name"] == "Smith, Jones & Co")
        #expect(try rows[0].get()[0]["businessDescription"] == "said \"hi\"\nthen left")
        #expect(rows.count == 2)
    }

    @Test("blank lines are skipped, not refused, and stray whitespace is trimmed")
    func blankLinesAndWhitespace() throws {
        let rows = try readExport("CustomerID,Name\n\n  0000000007 ,  Seven  \n   \n\r\n0000000008,Eight\n\n")
        #expect(rows.count == 2)
        #expect(try rows[0].get()[0]["customerId"] == "0000000007" && rows[0].get()[0]["name"] == "Seven")
        #expect(try rows[1].get()[0]["customerId"] == "0000000008")
    }

    @Test("each bad row is refused with the exact column and reason, and the rows after it are still read", arguments: [
        ("0001234567,ACC-1,Acme,1523.405,2026-11-14", 4, "AmountDue", "'1523.405' has more than 2 decimals [number] → amountDue"),
        ("0001234567,ACC-1,Acme,1523.40,14/11/2026", 5, "LastBillDate", "'14/11/2026' is not a date in yyyy-MM-dd [date] → lastBillDate"),
        ("0001234567,ACC-1,Acme,1523.40,", 5, "LastBillDate", "is required [required] → lastBillDate"),
        (",ACC-1,Acme,1.00,2026-11-14", 1, "CustomerID", "is required [required] → customerId"),
        ("12-34,ACC-1,Acme,1.00,2026-11-14", 1, "CustomerID", "'12-34' does not match [0-9]{1,12} [pattern] → customerId"),
        ("0001234567,ACC-1,,1.00,2026-11-14", 3, "Name", "is required [required] → name"),
        ("0001234567,ACC-1,Acme,1.00,2026-02-30", 5, "LastBillDate", "'2026-02-30' is not a date in yyyy-MM-dd [date] → lastBillDate"),
        ("0001234567,ACC-1,Acme,1.00,2026-11-14,extra", 6, "(row)", "the row has 6 fields, the header 5"),
    ])
    func badRows(row: String, column: Int, field: String, reason: String) throws {
        let rows = try readExport("CustomerID,AccountID,Name,AmountDue,LastBillDate\n\(row)\n0000000009,ACC-9,Nine,1.00,2026-11-14\n", file: "billing_export_drop.csv")
        guard case let .failure(rejection) = rows[0] else { Issue.record("accepted \(row)"); return }
        #expect(rejection == RowRejection(file: "billing_export_drop.csv", line: 2, column: column, field: field, reason: reason))
        #expect(try rows[1].get()[0]["customerId"] == "0000000009")
    }

    @Test("an unterminated quote refuses the rest of the file with its line; a missing required column refuses the file")
    func malformedFiles() throws {
        let rows = try readExport("CustomerID,Name\n0000000001,One\n0000000002,\"Two\n")
        #expect(try rows[0].get()[0]["name"] == "One")
        guard case let .failure(rejection) = rows[1] else { Issue.record("accepted an open quote"); return }
        #expect(rejection.line == 3)
        #expect { try readExport("AccountID,Name\nA,B\n") } throws: { error in
            (error as? RowRejection)?.reason == "the header has no CustomerID column (source accounts)"
        }
    }

    @Test("the generator's export reads with exactly the listed anomalies refused")
    func generatedExport() throws {
        var options = SampleDataGenerator.Options(accounts: 2_000)
        options.badRowShare = 0.1
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)")
        let summary = try SampleDataGenerator(options: options).writeCSV(to: directory)
        var reader = try SourceFileReader(url: directory.appendingPathComponent("billing_export.csv"), name: "billing_export.csv",
                                          source: #require(SourceMappingDocument(contentsOf: TestRepository.sourceMappingFile).source(forFile: "billing_export.csv")))
        var refusedLines = Set<Int>()
        var rows = 0
        while let row = try reader.next() {
            rows += 1
            if case let .refused(rejection, _) = row { refusedLines.insert(rejection.line) }
        }
        // An NMI with a wrong check digit is well-formed; the transformer's rule refuses it.
        let expectedLines = Set(summary.anomalies.filter { $0.file == "billing_export.csv" && $0.expected == .rejected && $0.kind != .badNMIChecksum }.map(\.line))
        #expect(refusedLines == expectedLines)
        #expect(rows == summary.accountRows)
    }

    @Test("a meter-reading export is read by its file name's source; a bad unit or date names its column")
    func meterReadings() throws {
        let text = "NMI,MeterID,ReadingDate,Reading,Unit,Quality\n6305000123,MTR-1,2026-03-15,1234.567,kwh,a\n6305000123,MTR-1,15/03/2026,1,kWh,A\n6305000123,MTR-1,2026-03-15,1,litres,A\n"
        let rows = try readExport(text, file: "meter_readings_0315.csv")
        let reading = try #require(try rows[0].get().first)
        #expect(reading.entity == "meter-reading" && reading.key == "6305000123" && reading.type == .billingMeterReading)
        #expect(reading["reading"] == "1234.567" && reading["unit"] == "kWh" && reading["quality"] == "A")
        guard case let .failure(date) = rows[1], case let .failure(unit) = rows[2] else { Issue.record("accepted a bad row"); return }
        #expect(date.field == "ReadingDate" && date.line == 3 && date.column == 3)
        #expect(unit.field == "Unit" && unit.reason.contains("'litres' is not one of"))
    }

    @Test("tariffs and the product catalog are read into their own records")
    func referenceFiles() throws {
        let tariffs = try readExport("TariffCode,Name,Commodity,UnitRate,DailySupplyCharge,EffectiveFrom\nEA010,Flat,Electricity,0.28435,1.045,2026-07-01\n",
                                     file: "tariffs.csv")
        let tariff = try #require(try tariffs[0].get().first)
        #expect(tariff.type == .billingTariff && tariff["commodity"] == "electricity" && tariff["unitRate"] == "0.28435")
        let products = try readExport("ProductCode,Name,Family,Active\nSOLAR-FIT,Solar Feed-in,Solar,N\nGAS-RES,Gas,gas,\n", file: "product_catalog.csv")
        #expect(try products[0].get()[0]["active"] == "false" && products[0].get()[0]["family"] == "solar")
        #expect(try products[1].get()[0]["active"] == "true")
    }
}

@Suite("Encodings are converted exactly; a byte that is not text refuses its row, naming line, column and byte offset")
struct SourceEncodingTests {
    static let name = "Renée Müller – “Café” €5"

    func mapping(_ encoding: TextEncoding, delimiter: String = ",", controlCharacters: String = "refuse") throws -> SourceMappingDocument {
        try SourceMappingDocument(yaml: """
        version: 1
        sources:
          - name: names
            files: ["*.csv"]
            format: { encoding: \(encoding.rawValue), delimiter: "\(delimiter)", control-characters: \(controlCharacters) }
            records:
              - type: billing-account
                key: customerId
                fields:
                  customerId: { column: Id, rules: [required] }
                  name: { column: Name, rules: [required] }
        """)
    }

    @Test("the same text in every supported encoding reads back identically", arguments: TextEncoding.allCases)
    func roundTrip(encoding: TextEncoding) throws {
        let text = "Id;Name\r\n0000000001;\(encoding == .iso88591 ? "Renée Müller" : Self.name)\r\n"
        let bytes = try #require(encoding.encode(text))
        let rows = try readExport(bytes, file: "names.csv", mappings: mapping(encoding, delimiter: ";"))
        #expect(try rows[0].get()[0]["name"] == (encoding == .iso88591 ? "Renée Müller" : Self.name))
    }

    @Test("UTF-16 reads in either byte order, with its mark", arguments: [false, true])
    func utf16(bigEndian: Bool) throws {
        var bytes: [UInt8] = bigEndian ? [0xFE, 0xFF] : [0xFF, 0xFE]
        for unit in "Id,Name\n0000000001,\(Self.name) 😀\n".utf16 {
            bytes += bigEndian ? [UInt8(unit >> 8), UInt8(unit & 0xFF)] : [UInt8(unit & 0xFF), UInt8(unit >> 8)]
        }
        let rows = try readExport(bytes, file: "names.csv", mappings: mapping(.utf16))
        #expect(try rows[0].get()[0]["name"] == "\(Self.name) 😀")
    }

    @Test("a Latin-1 é in a UTF-8 source refuses the row with the byte, its offset, line and column; nothing is replaced")
    func invalidUTF8() throws {
        let bytes = Array("Id,Name\n0000000001,Ren".utf8) + [0xE9] + Array("e\n0000000002,Two\n".utf8)
        let rows = try readExport(bytes, file: "names.csv", mappings: mapping(.utf8))
        guard case let .failure(rejection) = rows[0] else { Issue.record("accepted an invalid byte"); return }
        #expect(rejection == RowRejection(file: "names.csv", line: 2, column: 2, field: "Name",
                                          reason: "byte 0xE9 at byte offset 22 is not valid UTF-8 (the source is declared utf-8)"))
        #expect(try rows[1].get()[0]["name"] == "Two")
    }

    @Test("a byte Windows-1252 does not define refuses the row")
    func undefinedWindows1252() throws {
        let rows = try readExport(Array("Id,Name\n0000000001,A".utf8) + [0x81] + [0x0A], file: "names.csv", mappings: mapping(.windows1252))
        guard case let .failure(rejection) = rows[0] else { Issue.record("accepted 0x81"); return }
        #expect(rejection.reason.hasPrefix("byte 0x81 at byte offset 20 is not a character in windows-1252"))
    }

    @Test("a NUL inside a name is refused naming where it is, or removed when the source declares so")
    func controlCharacters() throws {
        let bytes = Array("Id,Name\n0000000001,Ab".utf8) + [0x00] + Array("c\n0000000002,Tab\tbed\n".utf8)
        let refused = try readExport(bytes, file: "names.csv", mappings: mapping(.utf8))
        guard case let .failure(rejection) = refused[0] else { Issue.record("passed a NUL on"); return }
        #expect(rejection.reason == "has the control character U+0000 at character 3 [control-characters]" && rejection.column == 2)
        #expect(try refused[1].get()[0]["name"] == "Tab\tbed")
        let removed = try readExport(bytes, file: "names.csv", mappings: mapping(.utf8, controlCharacters: "remove"))
        #expect(try removed[0].get()[0]["name"] == "Abc")
    }

    @Test("a UTF-16 file with a lone surrogate fails as a whole, at its byte offset")
    func loneSurrogate() throws {
        var bytes: [UInt8] = [0xFF, 0xFE]
        for unit in Array("Id,Name\n1,A".utf16) + [0xD800, 0x0041] + Array("\n".utf16) { bytes += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        #expect(throws: CSVSourceError(offset: 24, reason: "a UTF-16 high surrogate is not followed by a low one")) {
            try readExport(bytes, file: "names.csv", mappings: mapping(.utf16))
        }
    }
}

@Suite("A source mapping file is checked before anything is read, each mistake named with its line")
struct SourceMappingFileTests {
    static let head = "version: 1\nsources:\n  - name: a\n    files: [a*.csv]\n"

    @Test("mistakes are reported with their line", arguments: [
        (head + "    format: { delimiter: \";;\" }\n    records: [{ type: billing-tariff, key: x, fields: { x: X } }]\n", 5,
         "delimiter is one ASCII character (, ; | or tab)"),
        (head + "    records:\n      - type: crm-upsert\n        key: x\n        fields: { x: X }\n", 6,
         "type must be a billing record type (billing-account, billing-contact, billing-premise, billing-service-agreement, billing-bill, billing-financial-transaction, billing-meter-reading, billing-tariff, billing-product)"),
        (head + "    records:\n      - type: billing-tariff\n        key: tariffCode\n        fields: { name: Name }\n", 7,
         "key field tariffCode is not among billing-tariff's fields"),
        (head + "    records:\n      - type: billing-tariff\n        key: x\n        fields:\n          x: { column: X, template: \"{y}\" }\n", 9,
         "x needs exactly one of column, value or template"),
        (head + "    records:\n      - type: billing-tariff\n        key: x\n        fields:\n          x: { template: \"T-{y}\" }\n", 9,
         "x refers to {y}, which is not among billing-tariff's fields"),
        (head + "    records:\n      - type: billing-tariff\n        key: x\n        fields:\n          x: { column: X, rules: [{ date: [dd/MM/yy] }] }\n", 9,
         "'dd/MM/yy' is not a date pattern (yyyy, MM, M, dd, d)"),
        (head + "    colour: blue\n    records: []\n", 5,
         "unknown key 'colour' in a source (expected api, description, files, format, name, records, refresh, sql, timezone)"),
    ])
    func mistakes(yaml: String, line: Int, message: String) {
        #expect { try SourceMappingDocument(yaml: yaml) } throws: { error in
            (error as? MappingError) == MappingError(line: line, message: message, file: "source mapping file")
        }
    }

    @Test("the shipped mapping and the example for another engine both load")
    func shippedFilesLoad() throws {
        let shipped = try SourceMappingDocument(contentsOf: TestRepository.sourceMappingFile)
        let legacy = try SourceMappingDocument(contentsOf: TestRepository.legacySourceMappingFile)
        #expect(shipped.sources.map(\.name) == ["accounts", "meter-readings", "tariffs", "product-catalog"])
        #expect(legacy.sources.map(\.name) == shipped.sources.map(\.name))
        #expect(legacy.sources.allSatisfy { $0.format.encoding == .windows1252 && $0.format.delimiter == UInt8(ascii: ";") })
        #expect(shipped.source(forFile: "BILLING_EXPORT_2026-11-30.CSV")?.name == "accounts")
        #expect(shipped.source(forFile: "notes.txt") == nil)
    }
}
