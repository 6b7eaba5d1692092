import BillsyncSandbox
import BillsyncTestSupport
import BillsyncHTTP
import Foundation
import Hummingbird
import Logging
import Testing

/// An emulator on a free local port for the length of one test, reached over real HTTP.
struct RunningEmulator {
    let base: String
    let emulator: SalesforceEmulator
    let store: SalesforceRecordStore
    let billingStore: BillingStore

    static func with<T: Sendable>(
        _ configure: (inout SalesforceEmulatorConfiguration) -> Void = { _ in },
        billing configureBilling: (inout BillingEmulatorConfiguration) -> Void = { _ in },
        _ body: @Sendable (RunningEmulator) async throws -> T
    ) async throws -> T {
        var configuration = SalesforceEmulatorConfiguration()
        configure(&configuration)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sf-\(UUID().uuidString).sqlite").path
        let store = try SalesforceRecordStore(org: .sandboxDefault, path: path)
        let emulator = SalesforceEmulator(store: store, configuration: configuration)
        let billingStore = try BillingStore(path: path + ".billing")
        var billingConfiguration = BillingEmulatorConfiguration()
        configureBilling(&billingConfiguration)
        let billing = BillingEngineEmulator(store: billingStore, configuration: billingConfiguration)
        var logger = Logger(label: "sandbox.test")
        // Cancelling the server at the end of a test is logged as an error by Hummingbird.
        logger.logLevel = .critical
        return try await SandboxServer(salesforce: emulator, billing: billing, port: 0).serving(logger: logger) { base in
            try await body(RunningEmulator(base: base.absoluteString, emulator: emulator, store: store, billingStore: billingStore))
        }
    }

    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: Data
        var json: Any? { try? JSONSerialization.jsonObject(with: body) }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func request(_ method: String, _ path: String, token: String? = nil, json: Any? = nil, form: String? = nil,
                 csv: String? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var fields: [(String, String)] = []
        var body: [UInt8]?
        if let token { fields.append(("Authorization", "Bearer \(token)")) }
        if let json {
            body = [UInt8](try JSONSerialization.data(withJSONObject: json))
            fields.append(("Content-Type", "application/json"))
        }
        if let form {
            body = Array(form.utf8)
            fields.append(("Content-Type", "application/x-www-form-urlencoded"))
        }
        if let csv {
            body = Array(csv.utf8)
            fields.append(("Content-Type", "text/csv"))
        }
        for (name, value) in headers { fields.append((name, value)) }
        let answer = try await HTTPTransport.shared.send(method, URL(string: base + path)!, headers: fields, body: body)
        var received: [String: String] = [:]
        for (name, value) in answer.headers { received[name.lowercased()] = value }
        return Reply(status: answer.status, headers: received, body: answer.data)
    }

    /// The token endpoint of the org's My Domain (the only one granting client credentials).
    static let myDomainToken = "/billsync-sandbox.my.salesforce.com/services/oauth2/token"

    func token() async throws -> String {
        let reply = try await request("POST", Self.myDomainToken,
                                      form: "grant_type=client_credentials&client_id=billsync-sandbox&client_secret=sandbox-secret")
        return try #require((reply.json as? [String: Any])?["access_token"] as? String)
    }
}

@Suite("The Salesforce emulator answers like the REST API, over HTTP", .serialized)
struct SalesforceEmulatorTests {
    let upsertPath = "/services/data/v61.0/sobjects/Account/Billing_Customer_Id__c/0001234567"
    let collectionPath = "/services/data/v61.0/composite/sobjects/Account/Billing_Customer_Id__c"

    @Test("client credentials in the body or in Basic auth at the org's My Domain get a bearer token; wrong ones get invalid_client")
    func clientCredentials() async throws {
        try await RunningEmulator.with { sf in
            let body = try await sf.request("POST", RunningEmulator.myDomainToken,
                                            form: "grant_type=client_credentials&client_id=billsync-sandbox&client_secret=sandbox-secret")
            let token = try #require(body.json as? [String: Any])
            #expect(body.status == 200)
            #expect(token["token_type"] as? String == "Bearer")
            #expect(token["instance_url"] as? String == sf.base)
            for key in ["access_token", "id", "issued_at", "scope"] { #expect(token[key] != nil, "\(key)") }
            let basic = Data("billsync-sandbox:sandbox-secret".utf8).base64EncodedString()
            let viaBasic = try await sf.request("POST", RunningEmulator.myDomainToken, form: "grant_type=client_credentials",
                                                headers: ["Authorization": "Basic \(basic)"])
            #expect(viaBasic.status == 200)
            let wrong = try await sf.request("POST", RunningEmulator.myDomainToken,
                                             form: "grant_type=client_credentials&client_id=billsync-sandbox&client_secret=nope")
            #expect(wrong.status == 400)
            #expect((wrong.json as? [String: Any])?["error"] as? String == "invalid_client")
        }
    }

    @Test("as Salesforce documents: client credentials sent to the generic login host (login or test.salesforce.com) are refused with invalid_grant, even when right")
    func clientCredentialsOnlyOnMyDomain() async throws {
        try await RunningEmulator.with { sf in
            let generic = try await sf.request("POST", "/services/oauth2/token",
                                               form: "grant_type=client_credentials&client_id=billsync-sandbox&client_secret=sandbox-secret")
            #expect(generic.status == 400)
            let error = try #require(generic.json as? [String: Any])
            #expect(error["error"] as? String == "invalid_grant")
            #expect(error["error_description"] as? String == "request not supported on this domain")
            #expect(error["access_token"] == nil)
            // Another org's My Domain is not this org's.
            let elsewhere = try await sf.request("POST", "/other-org.my.salesforce.com/services/oauth2/token",
                                                 form: "grant_type=client_credentials&client_id=billsync-sandbox&client_secret=sandbox-secret")
            #expect((elsewhere.json as? [String: Any])?["error"] as? String == "invalid_grant")
        }
    }

    @Test("a JWT bearer assertion signed with the configured key is accepted, a forged or expired one is invalid_grant")
    func jwtBearer() async throws {
        let (key, certificate) = try await TestRepository.makeCertificate()
        let (otherKey, _) = try await TestRepository.makeCertificate()
        let pem = try String(contentsOfFile: certificate, encoding: .utf8)
        try await RunningEmulator.with({ $0.jwtPublicKeyPEM = pem }) { sf in
            let now = Int(Date().timeIntervalSince1970)
            func assertion(key: String, exp: Any, aud: String = "https://login.salesforce.com") async throws -> String {
                let claims: [String: Any] = ["iss": "billsync-sandbox", "sub": "integration@billsync.example", "aud": aud, "exp": exp]
                return try await jwt(claims: claims, key: key)
            }
            func exchange(_ assertion: String) async throws -> RunningEmulator.Reply {
                try await sf.request("POST", "/services/oauth2/token",
                                     form: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=\(assertion)")
            }
            #expect(try await exchange(assertion(key: key, exp: now + 300)).status == 200)
            #expect(try await exchange(assertion(key: key, exp: String(now + 300))).status == 200)
            for bad in [try await assertion(key: otherKey, exp: now + 300), try await assertion(key: key, exp: now - 10),
                        try await assertion(key: key, exp: now + 300, aud: "https://evil.example")] {
                let reply = try await exchange(bad)
                #expect(reply.status == 400)
                #expect((reply.json as? [String: Any])?["error"] as? String == "invalid_grant")
            }
        }
    }

    @Test("an upsert creates (201), then updates (200) the same record; an unknown token is INVALID_SESSION_ID")
    func upsert() async throws {
        try await RunningEmulator.with { sf in
            let token = try await sf.token()
            let created = try await sf.request("PATCH", upsertPath, token: token, json: ["Name": "Acme", "Amount_Due__c": 1523.4])
            #expect(created.status == 201)
            let first = try #require(created.json as? [String: Any])
            #expect(first["created"] as? Bool == true && first["success"] as? Bool == true)
            #expect(created.headers["sforce-limit-info"] == "api-usage=1/100000")
            let updated = try await sf.request("PATCH", upsertPath, token: token, json: ["Amount_Due__c": 10])
            #expect(updated.status == 200)
            #expect((updated.json as? [String: Any])?["id"] as? String == first["id"] as? String)
            #expect((updated.json as? [String: Any])?["created"] as? Bool == false)
            let expired = try await sf.request("PATCH", upsertPath, token: "00Dbogus", json: ["Name": "X"])
            #expect(expired.status == 401)
            #expect(expired.text == #"[{"errorCode":"INVALID_SESSION_ID","message":"Session expired or invalid"}]"#)
            #expect(try sf.store.count(object: "Account") == 1)
        }
    }

    @Test("validation failures are 400 with errorCode and fields; unknown objects 404; several matches 300")
    func upsertErrors() async throws {
        try await RunningEmulator.with { sf in
            let token = try await sf.token()
            let missing = try await sf.request("PATCH", upsertPath, token: token, json: ["Industry": "Mining"])
            #expect(missing.status == 400)
            let error = try #require((missing.json as? [[String: Any]])?.first)
            #expect(error["errorCode"] as? String == "REQUIRED_FIELD_MISSING")
            #expect(error["fields"] as? [String] == ["Name"])
            let invalid: [([String: Any], String)] = [
                (["Name": String(repeating: "x", count: 300)], "STRING_TOO_LONG"),
                (["Name": "A", "Colour__c": "red"], "INVALID_FIELD"),
                (["Name": "A", "Last_Bill_Date__c": "14/11/2026"], "INVALID_TYPE_ON_FIELD_IN_RECORD"),
                (["Name": "A", "Amount_Due__c": "lots"], "INVALID_TYPE_ON_FIELD_IN_RECORD"),
                (["Name": "A", "Email__c": "nobody"], "INVALID_EMAIL_ADDRESS"),
                (["Name": "A", "Amount_Due__c": -5_000_000], "FIELD_CUSTOM_VALIDATION_EXCEPTION"),
            ]
            for (fields, code) in invalid {
                let reply = try await sf.request("PATCH", upsertPath, token: token, json: fields)
                #expect(reply.status == 400, "\(code)")
                #expect((reply.json as? [[String: Any]])?.first?["errorCode"] as? String == code)
            }
            let unknown = try await sf.request("PATCH", "/services/data/v61.0/sobjects/Invoice__c/Ext__c/1", token: token, json: [:])
            #expect(unknown.status == 404)
            #expect((unknown.json as? [[String: Any]])?.first?["errorCode"] as? String == "NOT_FOUND")
            for customer in ["A", "B"] {
                _ = try await sf.request("PATCH", "/services/data/v61.0/sobjects/Account/Billing_Customer_Id__c/\(customer)", token: token,
                                         json: ["Name": customer, "Billing_Account_Id__c": "SHARED"])
            }
            let ambiguous = try await sf.request("PATCH", "/services/data/v61.0/sobjects/Account/Billing_Account_Id__c/SHARED", token: token, json: [:])
            #expect(ambiguous.status == 300)
            #expect((ambiguous.json as? [String])?.count == 2)
        }
    }

    @Test("a collection answers per record in order, refuses more than 200, and allOrNone rolls everything back")
    func collections() async throws {
        try await RunningEmulator.with { sf in
            let token = try await sf.token()
            func record(_ id: String, name: String?) -> [String: Any] {
                var record: [String: Any] = ["attributes": ["type": "Account"], "Billing_Customer_Id__c": id]
                if let name { record["Name"] = name }
                return record
            }
            let mixed = try await sf.request("PATCH", collectionPath, token: token, json: [
                "allOrNone": false, "records": [record("1", name: "One"), record("2", name: nil), record("3", name: "Three")],
            ])
            let results = try #require(mixed.json as? [[String: Any]])
            #expect(mixed.status == 200)
            #expect(results.map { $0["success"] as? Bool } == [true, false, true])
            let failure = try #require((results[1]["errors"] as? [[String: Any]])?.first)
            #expect(failure["statusCode"] as? String == "REQUIRED_FIELD_MISSING")
            #expect(failure["errorCode"] == nil)
            let tooMany = try await sf.request("PATCH", collectionPath, token: token, json: [
                "allOrNone": false, "records": (0..<201).map { record("x\($0)", name: "X") },
            ])
            #expect(tooMany.status == 400)
            #expect((tooMany.json as? [[String: Any]])?.first?["errorCode"] as? String == "EXCEEDED_ID_LIMIT")
            let rolledBack = try await sf.request("PATCH", collectionPath, token: token, json: [
                "allOrNone": true, "records": [record("4", name: "Four"), record("5", name: nil)],
            ])
            let codes = (rolledBack.json as? [[String: Any]])?.map { (($0["errors"] as? [[String: Any]])?.first?["statusCode"] as? String) ?? "" }
            #expect(codes == ["ALL_OR_NONE_OPERATION_ROLLED_BACK", "REQUIRED_FIELD_MISSING"])
            #expect(try sf.store.count(object: "Account") == 2)
        }
    }

    @Test("as Salesforce documents: a record without attributes.type makes the request a 400; an external id twice in one request fails both; text external ids match without regard to case")
    func collectionStrictness() async throws {
        try await RunningEmulator.with { sf in
            let token = try await sf.token()
            let untyped = try await sf.request("PATCH", collectionPath, token: token, json: [
                "records": [["attributes": ["type": "Account"], "Billing_Customer_Id__c": "T1", "Name": "One"], ["Billing_Customer_Id__c": "T2", "Name": "Two"]],
            ])
            #expect(untyped.status == 400)
            #expect((untyped.json as? [[String: Any]])?.first?["errorCode"] as? String == "INVALID_TYPE")
            #expect(try sf.store.count(object: "Account") == 0)

            let twice = try await sf.request("PATCH", collectionPath, token: token, json: [
                "records": [["attributes": ["type": "Account"], "Billing_Customer_Id__c": "acc-1", "Name": "One"],
                            ["attributes": ["type": "Account"], "Billing_Customer_Id__c": "ACC-1", "Name": "Again"],
                            ["attributes": ["type": "Account"], "Billing_Customer_Id__c": "acc-2", "Name": "Two"]],
            ])
            let results = try #require(twice.json as? [[String: Any]])
            #expect(results.map { $0["success"] as? Bool } == [false, false, true])
            let error = try #require((results[0]["errors"] as? [[String: Any]])?.first)
            #expect(error["statusCode"] as? String == "DUPLICATE_VALUE" && error["message"] as? String == "Duplicate external id specified: acc-1")
            #expect(try sf.store.count(object: "Account") == 1)

            // "ACC-2" is the record created as "acc-2": updated, not created again.
            let other = try await sf.request("PATCH", collectionPath, token: token, json: [
                "records": [["attributes": ["type": "Account"], "Billing_Customer_Id__c": "ACC-2", "Name": "Two, renamed"]],
            ])
            #expect((other.json as? [[String: Any]])?.first?["created"] as? Bool == false)
            #expect(try sf.store.count(object: "Account") == 1)
            let duplicates = try await sf.request("GET", "/sandbox/salesforce/Account/duplicate-creates")
            #expect((duplicates.json as? [String: Any])?["duplicateCreates"] as? Int == 0)
            #expect(try sf.store.duplicateCreates(object: "Account") == 0)
        }
    }

    @Test("past the daily limit every call is REQUEST_LIMIT_EXCEEDED until the limit is raised")
    func dailyLimit() async throws {
        try await RunningEmulator.with({ $0.dailyAPILimit = 2 }) { sf in
            let token = try await sf.token()
            for _ in 0..<2 { #expect(try await sf.request("GET", "/services/data/v61.0/limits", token: token).status == 200) }
            let refused = try await sf.request("PATCH", upsertPath, token: token, json: ["Name": "Acme"])
            #expect(refused.status == 403)
            #expect((refused.json as? [[String: Any]])?.first?["errorCode"] as? String == "REQUEST_LIMIT_EXCEEDED")
            #expect(refused.headers["sforce-limit-info"] == "api-usage=2/2")
            sf.emulator.setDailyLimit(10)
            #expect(try await sf.request("PATCH", upsertPath, token: token, json: ["Name": "Acme"]).status == 201)
        }
    }

    @Test("injected faults: row locks per record, 503s, tokens that expire every N calls or after their lifetime")
    func faults() async throws {
        try await RunningEmulator.with({ $0.lockRowFailureRate = 1; $0.expireTokenEvery = 3 }) { sf in
            let token = try await sf.token()
            let locked = try await sf.request("PATCH", upsertPath, token: token, json: ["Name": "Acme"])
            #expect((locked.json as? [[String: Any]])?.first?["errorCode"] as? String == "UNABLE_TO_LOCK_ROW")
            _ = try await sf.request("GET", "/services/data/v61.0/limits", token: token)
            #expect(try await sf.request("GET", "/services/data/v61.0/limits", token: token).status == 401)
        }
        // The token's lifetime runs on the emulator's clock, which the test moves.
        let time = EmulatorTime()
        try await RunningEmulator.with({ $0.tokenLifetime = .seconds(60); $0.clock = { time.now } }) { sf in
            let token = try await sf.token()
            #expect(try await sf.request("GET", "/services/data/v61.0/limits", token: token).status == 200)
            time.advance(by: 59)
            #expect(try await sf.request("GET", "/services/data/v61.0/limits", token: token).status == 200)
            time.advance(by: 1)
            #expect(try await sf.request("GET", "/services/data/v61.0/limits", token: token).status == 401, "refused once its lifetime passed")
        }
        try await RunningEmulator.with({ $0.serviceUnavailableRate = 1 }) { sf in
            let reply = try await sf.request("GET", "/services/data/v61.0/limits", token: try await sf.token())
            #expect(reply.status == 503)
        }
    }
}

/// An RS256 JWT, signed by the openssl command line tool with `key`.
func jwt(claims: [String: Any], key: String) async throws -> String {
    func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
    let header = base64URL(try JSONSerialization.data(withJSONObject: ["alg": "RS256", "typ": "JWT"]))
    let payload = base64URL(try JSONSerialization.data(withJSONObject: claims))
    let signature = try await TestRepository.run("/usr/bin/openssl", ["dgst", "-sha256", "-sign", key], input: Data("\(header).\(payload)".utf8))
    return "\(header).\(payload).\(base64URL(signature))"
}
