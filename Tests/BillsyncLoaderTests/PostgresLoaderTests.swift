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
    static var url: String {
        ProcessInfo.processInfo.environment["BILLSYNC_POSTGRES_URL"] ?? "postgresql://billsync@127.0.0.1:15432/billsync"
    }

    func message(_ upsert: CRMUpsert, offset: Int64) -> ContractMessage<CRMUpsert> {
        StageMessage(envelope: MessageEnvelope(source: MessageSource(system: .billsync, name: "test"), businessKey: upsert.externalId,
                                               occurredAt: nil, payload: upsert),
                     topic: "upserts", partition: 0, offset: offset, logger: Logger(label: "test"))
    }

    func outcomes(_ results: [Result<[OutgoingMessage], StageFailure>]) throws -> [CRMLoadResult.Outcome] {
        try results.map { try TestRepository.contracts.decode(try $0.get()[0].value, as: CRMLoadResult.self).payload.outcome }
    }

    @Test("rows are created, then updated field by field; other mappings' fields are kept; a wrong type is dead-lettered with its SQLSTATE")
    func replica() async throws {
        let schema = "crm_\(UUID().uuidString.prefix(8).lowercased())"
        let handler = PostgresSink(url: Self.url, schema: schema, resultsTopic: "results", contracts: TestRepository.contracts)
        let accounts = (0..<300).map { LoaderRig.account(6_000_000 + $0) }
        let first = await handler.handle(accounts.enumerated().map { message($1, offset: Int64($0)) })
        #expect(try outcomes(first) == Array(repeating: .created, count: 300))

        // The bill mapping writes other fields of the same Account: both sets are kept.
        let bill = CRMUpsert(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0006000007",
                             fields: ["Last_Bill_Date__c": .string("2026-11-14"), "Active__c": .bool(true)])
        let changed = LoaderRig.account(6_000_007, name: "Renamed")
        let second = await handler.handle([message(bill, offset: 300), message(changed, offset: 301), message(accounts[3], offset: 302)])
        #expect(try outcomes(second) == [.updated, .updated, .updated])

        let database = try PostgresConnection(url: Self.url)
        let rows = try await database.query("""
            SELECT billing_customer_id__c, name, amount_due__c::text, last_bill_date__c, active__c::text FROM "\(schema)"."account"
            WHERE billing_customer_id__c = '0006000007'
            """)
        #expect(rows.count == 1)
        #expect(rows[0].values == ["0006000007", "Renamed", "7.25", "2026-11-14", "true"])
        #expect(try await database.query("SELECT count(*) AS n FROM \"\(schema)\".\"account\"")[0]["n"] == "300")

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
