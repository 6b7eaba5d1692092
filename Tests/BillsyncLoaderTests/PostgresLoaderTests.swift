import BillsyncContracts
import BillsyncKafka
import BillsyncLoader
import BillsyncPostgres
import BillsyncRuntime
import BillsyncTestSupport
import Foundation
import Logging
import Testing

@Suite("The PostgreSQL sink keeps a replica of the CRM objects with INSERT … ON CONFLICT, against a real server")
struct PostgresLoaderTests {
    func message(_ upsert: CRMUpsert, offset: Int64) -> ContractMessage<CRMUpsert> {
        StageMessage(envelope: MessageEnvelope(source: MessageSource(system: .billsync, name: "test"), businessKey: upsert.externalId,
                                               occurredAt: nil, payload: upsert),
                     topic: "upserts", partition: 0, offset: offset, logger: Logger(label: "test"))
    }

    func outcomes(_ results: [Result<[OutgoingMessage], StageFailure>]) throws -> [CRMLoadResult.Outcome] {
        try results.map { try TestRepository.contracts.decode(try $0.get()[0].value, as: CRMLoadResult.self).payload.outcome }
    }

    func sink(_ database: PostgresPool) async throws -> PostgresSink {
        let sink = PostgresSink(database: database, schema: TestPostgres.uniqueTable("crm"), resultsTopic: "results",
                                contracts: TestRepository.contracts)
        try await sink.prepare()
        return sink
    }

    @Test("rows are created, then updated field by field; other mappings' fields are kept; a wrong type is dead-lettered with its SQLSTATE")
    func replica() async throws {
        try await TestPostgres.withDatabase { database in
            let handler = try await sink(database)
            let schema = handler.schema
            let accounts = (0..<300).map { LoaderRig.account(6_000_000 + $0) }
            let first = await handler.handle(accounts.enumerated().map { message($1, offset: Int64($0)) })
            #expect(try outcomes(first) == Array(repeating: .created, count: 300))

            // The bill mapping writes other fields of the same Account: both sets are kept.
            let bill = CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0006000007",
                                 fields: ["Last_Bill_Date__c": .string("2026-11-14"), "Active__c": .bool(true)])
            let changed = LoaderRig.account(6_000_007, name: "Renamed")
            let second = await handler.handle([message(bill, offset: 300), message(changed, offset: 301), message(accounts[3], offset: 302)])
            #expect(try outcomes(second) == [.updated, .updated, .updated])

            let rows = try await database.query("""
                SELECT billing_customer_id__c, name, amount_due__c::text, last_bill_date__c, active__c::text FROM "\(schema)"."account"
                WHERE billing_customer_id__c = '0006000007'
                """)
            #expect(rows.count == 1)
            #expect(rows.first?.values == ["0006000007", "Renamed", "7.25", "2026-11-14", "true"])
            #expect(try await database.query("SELECT count(*) AS n FROM \"\(schema)\".\"account\"").first?["n"] == "300")

            // Amount_Due__c is numeric: a text value cannot go there.
            let wrong = LoaderRig.account(6_000_008, fields: ["Amount_Due__c": .string("a lot")])
            let third = await handler.handle([message(wrong, offset: 303)])
            guard case let .failure(failure) = third[0] else {
                Issue.record("a wrong type was accepted")
                return
            }
            #expect(failure.errorClass == .permanent && failure.code == "pg.42804", "\(failure)")
        }
    }

    @Test("a chunk is written in one transaction: a refused value in its middle is dead-lettered alone, the rest commit together")
    func chunkTransaction() async throws {
        try await TestPostgres.withDatabase { database in
            let handler = try await sink(database)
            _ = await handler.handle([message(LoaderRig.account(7_000_000), offset: 0)])
            var chunk = (1...20).map { LoaderRig.account(7_000_000 + $0) }
            chunk[9] = LoaderRig.account(7_000_010, fields: ["Amount_Due__c": .string("not a number")])
            chunk.append(LoaderRig.account(7_000_000, name: "Updated in the chunk"))
            let results = await handler.handle(chunk.enumerated().map { message($1, offset: Int64($0 + 1)) })

            guard case let .failure(refused) = results[9] else {
                Issue.record("the refused value was written")
                return
            }
            #expect(refused.errorClass == .permanent && refused.code == "pg.42804", "\(refused)")
            var others = results
            others.remove(at: 9)
            #expect(try outcomes(others) == Array(repeating: .created, count: 19) + [.updated])

            let table = "\"\(handler.schema)\".\"account\""
            #expect(try await database.query("SELECT count(*) AS n FROM \(table) WHERE billing_customer_id__c = '0007000010'")
                .first?["n"] == "0")
            // Rows written by one transaction carry its id (xmin): the chunk's 20 rows, one id.
            let written = try await database.query("""
                SELECT count(*) AS n, count(DISTINCT xmin::text) AS transactions FROM \(table) WHERE billing_customer_id__c <> '0007000010'
                  AND name <> 'Customer 7000000'
                """)
            #expect(written.first?["n"] == "20" && written.first?["transactions"] == "1", "\(written)")
        }
    }
}
