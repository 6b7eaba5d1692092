import BillsyncMapping
import BillsyncCSV
@testable import BillsyncExtractor
import BillsyncTestSupport
import Foundation
import Testing

/// Bytes handed over `size` at a time, to put every byte of a document at a chunk boundary.
struct ChunkedBytes: CSVByteSource {
    var bytes: ArraySlice<UInt8>
    let size: Int

    mutating func nextChunk() throws(CSVSourceError) -> [UInt8] {
        let chunk = Array(bytes.prefix(size))
        bytes = bytes.dropFirst(size)
        return chunk
    }
}

@Suite("The streaming CSV reader reads the same records whatever the chunks, and bounds what one record can hold")
struct CSVStreamReaderTests {
    static let document = Array("\u{FEFF}a,b,c\r\n1,\"x,\"\"y\"\"\r\nz\",3\r\n\r\n\"open,2,3\n4,5,6\r\n7,\"é😀\",\"\"".utf8)

    func records<Source: CSVByteSource>(_ source: Source) throws(Source.Failure) -> [Result<CSVRawRecord, CSVError>] {
        var reader = try CSVStreamReader(source: source)
        var records: [Result<CSVRawRecord, CSVError>] = []
        while let next = try reader.next() { records.append(next) }
        return records
    }

    @Test("chunks of 1 to 7 bytes read exactly what one chunk reads: CRLF, doubled quotes, a BOM and multi-byte characters across boundaries",
          arguments: 1...7)
    func chunkBoundaries(size: Int) throws {
        let whole = records(InMemoryBytes(Self.document))
        #expect(whole.count == 4)
        #expect(try records(ChunkedBytes(bytes: Self.document[...], size: size)) == whole)
    }

    @Test("UTF-16 in chunks of 1 to 5 bytes transcodes exactly, surrogate pairs included", arguments: 1...5)
    func utf16Boundaries(size: Int) throws {
        let text = "Id,Name\n1,Zoë 😀 “quoted”\n2,\"a\r\nb\"\n"
        var bytes: [UInt8] = [0xFF, 0xFE]
        for unit in text.utf16 { bytes += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        let whole = records(InMemoryBytes(Array(text.utf8)))
        #expect(try records(UTF16ToUTF8(ChunkedBytes(bytes: bytes[...], size: size))) == whole)
    }

    @Test("a quote never closed is refused at the record limit, and reading goes on at the next line")
    func unclosedQuote() throws {
        let text = "a,b\n1,\"never closed\n" + String(repeating: "filler line\n", count: 100) + "2,after\n"
        var reader = CSVStreamReader(source: InMemoryBytes(Array(text.utf8)), maximumRecordBytes: 200)
        _ = reader.next()
        guard case let .failure(error)? = reader.next() else { Issue.record("an endless record was accepted"); return }
        #expect(error.line == 2 && error.reason.contains("longer than 200 bytes") && error.reason.contains("never closed"))
        #expect(error.bytes.count == 200)
        var rest: [CSVRawRecord] = []
        while let next = reader.next() { if case let .success(record) = next { rest.append(record) } }
        #expect(rest.last?.fields == [Array("2".utf8), Array("after".utf8)] && rest.last?.line == 103)
    }

    @Test("an invalid byte inside a quoted field with doubled quotes is placed at its exact offset in the file")
    func quotedOffset() throws {
        let mappings = try SourceMappingDocument(yaml: """
        version: 1
        sources:
          - name: names
            files: ["*.csv"]
            records:
              - type: billing-tariff
                key: tariffCode
                fields: { tariffCode: Code, name: Name }
        """)
        let bytes = Array("Code,Name\nT1,\"say \"\"hi\"\" ".utf8) + [0xFF] + Array("\"\n".utf8)
        let rows = try readExport(bytes, file: "t.csv", mappings: mappings)
        guard case let .failure(rejection) = rows[0] else { Issue.record("accepted 0xFF"); return }
        // "Code,Name\n" is 10 bytes, "T1," 3, the opening quote 1, then `say ""hi"" ` is 11 bytes.
        #expect(rejection.reason.hasPrefix("byte 0xFF at byte offset 25 "))
        #expect(bytes[25] == 0xFF)
    }
}

@Suite("A header or row that would lose records without a word is refused")
struct SilentLossTests {
    @Test("a header without the column that decides whether a row has a bill yields no bill, and says so")
    func missingWhenColumn() throws {
        let source = try #require(try SourceMappingDocument(contentsOf: TestRepository.sourceMappingFile).source(forFile: "billing_export.csv"))
        var reader = try SourceFileReader(bytes: Array("CustomerID,Name,LastBillDate\n0000000001,One,2026-11-14\n".utf8), name: "billing_export.csv", source: source)
        #expect(reader.mapper.recordTypesWithoutColumn == [.billingBill, .billingPremise])
        #expect(reader.mapper.unmatchedColumns.contains("AmountDue"))
        guard case let .records(records, _)? = try reader.next() else { Issue.record("the row was refused"); return }
        #expect(records.map(\.type) == [.billingAccount])
    }

    @Test("a short row (half of a row split by a stray line break) is refused unless the source allows short rows")
    func shortRows() throws {
        let rows = try readExport("CustomerID,Name,Notes\n0000000001,One\n0000000002,Two,x\n")
        guard case let .failure(rejection) = rows[0] else { Issue.record("accepted a short row"); return }
        #expect(rejection.reason == "the row has 2 fields, the header 3 (a line break outside quotes?)")
        #expect(try rows[1].get()[0]["customerId"] == "0000000002")
    }

    @Test("a C1 control character (Windows-1252 text declared ISO-8859-1) is refused, not published")
    func c1Controls() throws {
        let mappings = try SourceMappingDocument(yaml: """
        version: 1
        sources:
          - name: names
            files: ["*.csv"]
            format: { encoding: iso-8859-1 }
            records:
              - type: billing-tariff
                key: tariffCode
                fields: { tariffCode: Code, name: Name }
        """)
        let rows = try readExport(Array("Code,Name\nT1,Caf".utf8) + [0xE9, 0x20, 0x80, 0x0A], file: "t.csv", mappings: mappings)
        guard case let .failure(rejection) = rows[0] else { Issue.record("published a C1 control"); return }
        #expect(rejection.reason == "has the control character U+0080 at character 6 [control-characters]")
    }
}
