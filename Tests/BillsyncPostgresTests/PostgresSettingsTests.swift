@testable import BillsyncPostgres
import Testing

@Suite("Connection strings are read as libpq reads them, and never show their password")
struct PostgresSettingsTests {
    @Test("a URL: user, percent-encoded password, host, port, database, sslmode")
    func url() throws {
        let settings = try PostgresSettings(connectionString: "postgresql://billsync:p%40ss%3Aword@db.example:6432/crm?sslmode=require",
                                            environment: [:])
        #expect(settings.username == "billsync" && settings.password == "p@ss:word")
        #expect(settings.host == "db.example" && settings.port == 6432 && settings.database == "crm")
        #expect(settings.tls == .require && settings.maximumConnections == 4)
    }

    @Test("key=value pairs with a quoted value; PGPASSWORD when the string has none; libpq's default sslmode is prefer")
    func keywords() throws {
        let settings = try PostgresSettings(connectionString: "host=127.0.0.1 port=15432 user=billsync dbname='billing crm' application_name=x",
                                            environment: ["PGPASSWORD": "from-env"])
        #expect(settings.host == "127.0.0.1" && settings.port == 15432 && settings.database == "billing crm")
        #expect(settings.password == "from-env" && settings.tls == .prefer)
    }

    @Test("sslmode: disable, allow as prefer, verify-full; an unknown mode is refused")
    func sslModes() throws {
        #expect(try PostgresSettings(connectionString: "postgresql://u@h/d?sslmode=disable").tls == .disable)
        #expect(try PostgresSettings(connectionString: "postgresql://u@h/d?sslmode=allow").tls == .prefer)
        #expect(try PostgresSettings(connectionString: "postgresql://u@h/d?sslmode=verify-full").tls == .verifyFull)
        #expect(throws: PostgresError.self) { try PostgresSettings(connectionString: "postgresql://u@h/d?sslmode=sometimes") }
    }

    @Test("a malformed string is an error that does not repeat it (it may hold the password)")
    func malformed() {
        do {
            _ = try PostgresSettings(connectionString: "mysql://u:secret@h/d", environment: [:])
            Issue.record("a mysql URL was accepted")
        } catch {
            #expect(!"\(error)".contains("secret"))
        }
        #expect(throws: PostgresError.self) { try PostgresSettings(connectionString: "postgresql://h/d", environment: [:]) }
    }

    @Test("a record as PostgreSQL prints it splits into its fields: NULL, empty, quotes, backslashes, commas")
    func recordText() throws {
        #expect(try PostgresTextRow.fields(ofRecord: #"(1,,"","a ""b"", \\c",x)"#) == ["1", nil, "", #"a "b", \c"#, "x"])
        #expect(try PostgresTextRow.fields(ofRecord: "(only)") == ["only"])
        #expect(throws: PostgresError.self) { try PostgresTextRow.fields(ofRecord: #"(1,"open)"#) }
    }
}
