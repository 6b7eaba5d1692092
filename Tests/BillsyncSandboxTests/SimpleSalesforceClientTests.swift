import BillsyncSandbox
import BillsyncTestSupport
import Foundation
import Testing

@Suite("simple-salesforce, a real client, works against the emulator")
struct SimpleSalesforceClientTests {

    @Test("JWT and client-credentials logins, upsert created then updated, Bulk 2.0 with a failed row, an expired session")
    func realClient() async throws {
        let (key, certificate) = try await TestRepository.makeCertificate()
        let pem = try String(contentsOfFile: certificate, encoding: .utf8)
        let seen = try await RunningEmulator.with({ $0.jwtPublicKeyPEM = pem }) { sf in
            let output = try await TestRepository.run(TestRepository.python, [TestRepository.root.appendingPathComponent("scripts/salesforce_client_check.py").path, sf.base, key])
            let counts = (try sf.store.count(object: "Account"))
            return (String(decoding: output, as: UTF8.self), counts)
        }
        let result = try #require(try JSONSerialization.jsonObject(with: Data(seen.0.utf8)) as? [String: Any])
        #expect(result["jwt_session"] as? Bool == true)
        #expect(result["client_credentials_session"] as? Bool == true)
        #expect(result["upsert_created"] as? Int == 201)
        #expect(result["upsert_updated"] as? Int == 200)
        #expect(result["upsert_error"] as? String == "REQUIRED_FIELD_MISSING")
        #expect(result["bulk_processed"] as? Int == 8)
        #expect(result["bulk_failed"] as? Int == 1)
        let failedCSV = try #require(result["bulk_failed_csv"] as? String)
        // The client writes the columns in its own (varying) order; the results keep it.
        #expect(failedCSV.hasPrefix("\"sf__Id\",\"sf__Error\","))
        #expect(failedCSV.prefix { $0 != "\n" }.contains("\"Billing_Customer_Id__c\"") && failedCSV.prefix { $0 != "\n" }.contains("\"Name\""))
        #expect(failedCSV.contains("REQUIRED_FIELD_MISSING") && failedCSV.contains("0000000099"))
        #expect(result["expired_session"] as? String == "SalesforceExpiredSession")
        #expect(seen.1 == 8)
    }
}
