import BillsyncContracts
@testable import BillsyncSandbox
import Foundation
import Testing

@Suite("NMI checksums follow AEMO's algorithm")
struct NationalMeteringIdentifierTests {
    @Test("published examples check out", arguments: [
        ("2001985732", 8), ("2001985733", 6), ("3075621875", 8), ("3075621876", 6), ("4316854005", 9),
        ("6305888444", 6), ("6350888444", 2), ("7001888333", 8), ("7102000001", 7), ("NAAAMYS582", 6),
        ("NBBBX11110", 0), ("QAAAVZZZZZ", 3), ("QCDWW00010", 2), ("SMVEW00085", 8), ("VAAA000065", 7),
        ("VAAA000066", 5), ("VAAA000067", 2), ("VAAASTY576", 8), ("VCCCX00009", 1), ("VEEEX00009", 1),
        ("VKTS786150", 2), ("VKTS871650", 7), ("VKTS876105", 7), ("VKTS876150", 3),
        ("VKTS876510", 8),
    ])
    func published(nmi: String, checksum: Int) {
        #expect(NationalMeteringIdentifier.checksum(of: nmi) == checksum)
        #expect(NationalMeteringIdentifier.isValid(nmi + String(checksum)))
        #expect(!NationalMeteringIdentifier.isValid(nmi + String((checksum + 1) % 10)))
    }

    @Test("malformed NMIs have no checksum")
    func malformed() {
        #expect(NationalMeteringIdentifier.checksum(of: "63050001") == nil)
        #expect(NationalMeteringIdentifier.checksum(of: "6305O00123") == nil)
        #expect(NationalMeteringIdentifier.checksum(of: "6305i00123") == nil)
    }
}

@Suite("The sample data generator writes realistic, deterministic data with known anomalies")
struct SampleDataGeneratorTests {
    func generate(accounts: Int, seed: UInt64 = 7, bad: Double = 0.1) throws -> (URL, SampleDataGenerator.Summary) {
        var options = SampleDataGenerator.Options(accounts: accounts)
        options.seed = seed
        options.badRowShare = bad
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sample-\(UUID().uuidString)")
        return (directory, try SampleDataGenerator(options: options).writeCSV(to: directory))
    }

    @Test("the same seed gives byte-identical files, another seed different ones")
    func deterministic() throws {
        let (first, _) = try generate(accounts: 500)
        let (second, _) = try generate(accounts: 500)
        let (other, _) = try generate(accounts: 500, seed: 8)
        let read = { (directory: URL) in try Data(contentsOf: directory.appendingPathComponent("billing_export.csv")) }
        #expect(try read(first) == read(second))
        #expect(try read(first) != read(other))
    }

    @Test("the export has seed 000's columns, a BOM, CRLF line ends, leading-zero ids and valid NMIs")
    func shape() throws {
        let (directory, summary) = try generate(accounts: 300, bad: 0)
        let bytes = try Data(contentsOf: directory.appendingPathComponent("billing_export.csv"))
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let text = String(decoding: bytes.dropFirst(3), as: UTF8.self)
        let header = text.prefix { $0 != "\r\n" }
        #expect(header.hasPrefix("CustomerID,AccountID,PersonID,Name"))
        #expect(header.contains("AmountDue") && header.contains("LastBillDate"))
        #expect(summary.anomalies.isEmpty)
        #expect(summary.accountRows == 300)
        #expect(text.contains("\r\n0000001000,ACC-0000001000,"))
        let nmis = text.split(separator: "\r\n").dropFirst().compactMap { line -> String? in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            return fields.count > 15 ? String(fields[15]) : nil
        }.filter { $0.count == 11 }
        #expect(nmis.count > 250)
        #expect(nmis.allSatisfy(NationalMeteringIdentifier.isValid))
        #expect(text.contains(",C1,") && text.contains(",C2,") && text.contains(",C3,"))
        #expect(text.contains("\"Called re \"\"estimated read\"\", will\nsend photo of meter\""))
    }

    @Test("every deliberate anomaly is listed with its file, line and expected outcome")
    func anomaliesAreListed() throws {
        let (directory, summary) = try generate(accounts: 2_000, bad: 0.1)
        let kinds = Set(summary.anomalies.map(\.kind))
        #expect(kinds.isSuperset(of: [.missingCustomerId, .threeDecimalAmount, .dayFirstDate, .strayWhitespace,
                                      .duplicatedRow, .badNMIChecksum, .negativeReading]))
        let share = Double(summary.anomalies.filter { $0.file == "billing_export.csv" }.count) / 2_000
        #expect(share > 0.07 && share < 0.13)
        let lines = String(decoding: try Data(contentsOf: directory.appendingPathComponent("billing_export.csv")), as: UTF8.self)
            .components(separatedBy: "\r\n")
        for anomaly in summary.anomalies where anomaly.file == "billing_export.csv" {
            switch anomaly.kind {
            case .threeDecimalAmount:
                #expect(lines.contains { $0.contains(anomaly.customerId!) && $0.range(of: #",[0-9]+\.[0-9]{3},"#, options: .regularExpression) != nil })
            case .dayFirstDate:
                #expect(lines.contains { $0.contains(anomaly.customerId!) && $0.range(of: #",[0-9]{2}/[0-9]{2}/2026,"#, options: .regularExpression) != nil })
            case .missingCustomerId:
                #expect(lines.contains { $0.hasPrefix(",ACC-\(anomaly.customerId!),") })
            case .duplicatedRow:
                #expect(lines.filter { $0.hasPrefix("\(anomaly.customerId!),") }.count == 2)
            default:
                break
            }
            #expect(anomaly.expected == SampleDataGenerator.expectation(of: anomaly.kind))
        }
        let readings = try String(contentsOf: directory.appendingPathComponent("meter_readings.csv"), encoding: .utf8)
        #expect(readings.hasPrefix("MeterID,NMI,ReadingDate,Reading,Unit,Quality\n"))
        #expect(readings.contains(",-"))
        let tariffs = try String(contentsOf: directory.appendingPathComponent("tariffs.csv"), encoding: .utf8)
        #expect(tariffs.hasPrefix("TariffCode,Name,Commodity,UnitRate,DailySupplyCharge,EffectiveFrom\nEA010,Residential flat rate,"))
    }
}
