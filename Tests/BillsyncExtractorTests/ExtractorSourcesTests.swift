import BillsyncMapping
import BillsyncContracts
import BillsyncExtractor
import BillsyncJSON
import BillsyncKafka
import BillsyncPostgres
import BillsyncSandbox
import BillsyncTestSupport
import Foundation
import Hummingbird
import Logging
import Testing

@Suite("The extractor publishes the billing API's and a SQL query's records, checkpoints them, and backfills a window")
struct ExtractorSourcesTests {
    static let entities = ["account", "bill", "premise", "meter-reading"]

    func topics() async throws -> String {
        let prefix = TestKafka.uniqueName("x")
        let admin = try KafkaAdmin(connection: TestKafka.connection, logger: TestKafka.logger)
        try await admin.createTopics(Self.entities.map { KafkaTopicSpecification(name: "\(prefix).raw.\($0)", partitions: 1) } + [
            KafkaTopicSpecification(name: "\(prefix).extractor.dlq", partitions: 1), .compacted(name: "\(prefix).checkpoints", partitions: 1),
            KafkaTopicSpecification(name: "\(prefix).reports", partitions: 1),
        ])
        return prefix
    }

    /// Runs the sources once in a fresh service (a restart each time), returning each source's counts.
    func runOnce(_ sources: [any ExtractionSource], prefix: String) async throws -> [ExtractionCounts] {
        let producer = try TestKafka.producer()
        let checkpoints = try KafkaCheckpointStore(connection: TestKafka.connection, topic: "\(prefix).checkpoints", logger: TestKafka.logger)
        let service = ExtractorService(sources: sources, schedule: .once, producer: producer, checkpoints: checkpoints,
                                       reportsTopic: "\(prefix).reports", contracts: TestRepository.contracts, logger: TestKafka.logger)
        var counts: [ExtractionCounts] = []
        for source in sources { counts.append(try await service.runOnce(source)) }
        await producer.shutdown()
        await checkpoints.close()
        return counts
    }

    @Test("40 accounts over pages: all published once; a second pass publishes nothing; a backfill of 10 seconds repeats those 10 with the same ids")
    func billingAPI() async throws {
        let prefix = try await topics()
        try await withBillingEngine(accounts: 40) { base in
            var api = BillingAPISource(baseURL: base, token: BillingEmulatorConfiguration().apiToken)
            api.pageSize = 7
            let extraction = try BillingAPIExtraction(api: api, entities: ["accounts", "bills"], sourceName: "engine",
                                                      contracts: TestRepository.contracts, topicPrefix: prefix)
            let first = try await runOnce([extraction], prefix: prefix)
            #expect(first[0].read == 80 && first[0].published == 80 && first[0].rejected == 0)
            let second = try await runOnce([extraction], prefix: prefix)
            #expect(second[0].read == 0)

            var backfill = extraction
            backfill.backfill = BackfillWindow(from: "2026-11-01T00:00:10Z", until: "2026-11-01T00:00:20Z")
            let third = try await runOnce([backfill], prefix: prefix)
            #expect(third[0].published == 20)
        }
        let accounts = try await TestKafka.readToEnd("\(prefix).raw.account", partitions: 1)
        #expect(accounts.count == 50)
        let envelopes = try accounts.map { try TestRepository.contracts.decode($0.value ?? [], as: BillingAccount.self) }
        #expect(Set(envelopes.map(\.payload.customerId)).count == 40)
        // The backfilled copies carry the ids of the first pass: a sink can tell them for repeats.
        #expect(Set(envelopes.map(\.id)).count == 40)
        #expect(envelopes.allSatisfy { $0.source == MessageSource(system: .billingAPI, name: "engine") })
    }

    @Test("meter readings from SQL: every row once across a restart, a bad row dead-lettered naming its field")
    func sqlReadings() async throws {
        let prefix = try await topics()
        try await TestPostgres.withDatabase { database in
            let table = TestPostgres.uniqueTable("readings")
            try await database.query("""
                CREATE TABLE \(table) (id bigserial PRIMARY KEY, meter_id text NOT NULL, nmi text NOT NULL, reading_date date NOT NULL,
                                       reading numeric(14,3) NOT NULL, updated_at timestamptz NOT NULL)
                """)
            try await database.query("""
                INSERT INTO \(table) (meter_id, nmi, reading_date, reading, updated_at)
                SELECT 'MTR-' || n, '6305000123', DATE '2026-11-15', n * 1.125,
                       TIMESTAMPTZ '2026-11-15 00:00:00+00' + (n / 4) * INTERVAL '1 second'
                FROM generate_series(1, 25) AS n
                """)
            var source = SQLWatermarkSource(query: """
                SELECT id, updated_at, meter_id, nmi, reading_date::text AS reading_date, reading::text AS reading,
                       CASE WHEN meter_id = 'MTR-7' THEN 'kwh' ELSE 'kWh' END AS unit, 'A' AS quality
                FROM \(table)
                """, watermarkColumn: "updated_at", tieBreakerColumn: "id")
            source.pageSize = 4
            let extraction = SQLExtraction(query: source, mapping: RawRecordShape.billingAPI["meter-readings"]!, database: database,
                                           sourceName: "readings", contracts: TestRepository.contracts, topicPrefix: prefix)
            let first = try await runOnce([extraction], prefix: prefix)
            #expect(first[0] == { var counts = ExtractionCounts(); counts.read = 25; counts.published = 24; counts.rejected = 1; return counts }())
            try await database.query("""
                INSERT INTO \(table) (meter_id, nmi, reading_date, reading, updated_at)
                VALUES ('MTR-26', '6305000123', DATE '2026-11-16', 2.5, TIMESTAMPTZ '2026-11-15 00:00:07+00')
                """)
            let second = try await runOnce([extraction], prefix: prefix)
            #expect(second[0].read == 1 && second[0].published == 1)
        }

        let readings = try await TestKafka.readToEnd("\(prefix).raw.meter-reading", partitions: 1)
        let meters = try readings.map { try TestRepository.contracts.decode($0.value ?? [], as: BillingMeterReading.self).payload.meterId }
        #expect(meters.count == 25 && Set(meters).count == 25 && !meters.contains("MTR-7"))
        let dead = try await TestKafka.read("\(prefix).extractor.dlq", partitions: 1, count: 1)
        let headers = Dictionary(dead[0].headers.map { ($0.name, String(decoding: $0.value ?? [], as: UTF8.self)) }, uniquingKeysWith: { $1 })
        #expect(headers[StageHeaders.errorMessage]?.contains("/payload/unit") == true)
        #expect(headers[StageHeaders.source] == "readings")
    }

    @Test("a SQL query and an API resource declared in the source mapping are read by their own column names, formats and codes")
    func declaredSources() async throws {
        let prefix = try await topics()
        try await TestPostgres.withDatabase { database in
            let table = TestPostgres.uniqueTable("reads")
            try await database.query("""
                CREATE TABLE \(table) (id bigserial PRIMARY KEY, mtr text, nmi_code text, read_on text, val text, uom text, updated_at timestamptz NOT NULL)
                """)
            try await database.query("""
                INSERT INTO \(table) (mtr, nmi_code, read_on, val, uom, updated_at) VALUES
                  ('MTR-1', '6305000123', '15/11/2026', '1234,5', 'kwh', TIMESTAMPTZ '2026-11-15 00:00:01+00'),
                  ('MTR-2', '6305000123', '31/11/2026', '2,25', 'kwh', TIMESTAMPTZ '2026-11-15 00:00:02+00'),
                  ('MTR-3', '6305000123', '1/12/2026', '7', 'litres', TIMESTAMPTZ '2026-11-15 00:00:03+00')
                """)
            let mappings = try SourceMappingDocument(yaml: """
                version: 1
                sources:
                  - name: mdm-reads
                    sql: { query: "SELECT id, updated_at, mtr, nmi_code, read_on, val, uom FROM \(table)", watermark: updated_at, tie-breaker: id }
                    records:
                      - type: billing-meter-reading
                        key: nmi
                        fields:
                          meterId: { column: mtr, rules: [required] }
                          nmi: { column: nmi_code, rules: [required] }
                          readingDate: { column: read_on, rules: [required, { date: [d/M/yyyy] }] }
                          reading: { column: val, rules: [required, { number: { decimal: ",", scale: 3 } }] }
                          unit: { column: uom, rules: [required, { map: { kWh: kWh, MJ: MJ } }] }
                          quality: { value: A }
                  - name: engine-accounts
                    api: accounts
                    records:
                      - type: billing-account
                        key: customerId
                        fields:
                          customerId: { column: customer_id, rules: [required] }
                          accountId: account_id
                          name: { column: name, rules: [required, upper] }
                          accountType: account_type
                          primaryAddress.line1: address.line1
                          primaryAddress.suburb: address.suburb
                          primaryAddress.state: address.state
                          primaryAddress.postcode: address.postcode
                          status: { value: active }
                """)
            let declared = try #require(mappings.sources.first { $0.sql != nil })
            let sql = try #require(declared.sql)
            let extraction = SQLExtraction(query: SQLWatermarkSource(query: sql.query, watermarkColumn: sql.watermark, tieBreakerColumn: sql.tieBreaker),
                                           mapping: SourceRecordMapping(source: declared), database: database, sourceName: "mdm",
                                           contracts: TestRepository.contracts, topicPrefix: prefix)
            let counts = try await runOnce([extraction], prefix: prefix)
            #expect(counts[0].read == 3 && counts[0].published == 1 && counts[0].rejected == 2)
            let reading = try TestRepository.contracts.decode(try #require(try await TestKafka.read("\(prefix).raw.meter-reading", partitions: 1, count: 1).first?.value),
                                                              as: BillingMeterReading.self).payload
            #expect(reading.meterId == "MTR-1" && reading.reading == Quantity(parsing: "1234.5") && reading.readingDate == LocalDate(year: 2026, month: 11, day: 15))
            let letters = try await TestKafka.read("\(prefix).extractor.dlq", partitions: 1, count: 2)
            let reasons = letters.compactMap { $0.headers.last(named: StageHeaders.errorMessage) }.sorted()
            #expect(reasons.count == 2 && reasons[0].contains("read_on") && reasons[0].contains("'31/11/2026' is not a date in d/M/yyyy"))
            #expect(reasons[1].contains("uom") && reasons[1].contains("'litres' is not one of"))

            // The billing API's accounts, by the declared source instead of the built-in shape.
            try await withBillingEngine(accounts: 12) { base in
                let api = try BillingAPIExtraction(api: BillingAPISource(baseURL: base, token: BillingEmulatorConfiguration().apiToken), entities: ["accounts"],
                                                   sourceName: "engine", contracts: TestRepository.contracts, topicPrefix: prefix, sources: mappings)
                let apiCounts = try await runOnce([api], prefix: prefix)
                #expect(apiCounts[0].read == 12 && apiCounts[0].published == 12)
            }
            let accounts = try await TestKafka.read("\(prefix).raw.account", partitions: 1, count: 12)
            let names = try accounts.map { try TestRepository.contracts.decode($0.value ?? [], as: BillingAccount.self).payload.name }
            #expect(names.count == 12 && names.allSatisfy { $0 == $0.uppercased() })
        }
    }
}
