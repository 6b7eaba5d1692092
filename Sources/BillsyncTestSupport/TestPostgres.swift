import BillsyncPostgres
import Foundation

/// The PostgreSQL server integration tests run against: `BILLSYNC_POSTGRES_URL`, by default the
/// local server that `scripts/test.sh` starts.
public enum TestPostgres {
    public static var url: String {
        ProcessInfo.processInfo.environment["BILLSYNC_POSTGRES_URL"] ?? "postgresql://billsync@127.0.0.1:15432/billsync"
    }

    public static var settings: PostgresSettings {
        get throws { try PostgresSettings(connectionString: url) }
    }

    /// Runs a pool to the test server around `body`, closed after it.
    public static func withDatabase<Result: Sendable>(_ body: (PostgresPool) async throws -> Result) async throws -> Result {
        try await PostgresPool.withRunning(settings: try settings, logger: TestKafka.logger, body)
    }

    /// A table name no other test uses.
    public static func uniqueTable(_ prefix: String) -> String {
        "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
    }
}
