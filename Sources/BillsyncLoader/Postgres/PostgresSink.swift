import BillsyncContracts
import BillsyncPostgres
import BillsyncRuntime
import Foundation
import Synchronization

/// The loader stage for a PostgreSQL replica of the CRM (the pattern of Heroku Connect): each
/// object is a table in the `billsync_crm` schema named after it (`Account` → `account`), with
/// the external id as primary key and one column per field (text, numeric or boolean, by the
/// first value seen). Upserts are `INSERT … ON CONFLICT … DO UPDATE` of the fields the command
/// carries, so a repeat changes nothing and fields set by other mappings are kept.
///
/// Tables and columns are created as objects and fields first appear; the schema is created at
/// startup. A record the database refuses (a value of the wrong type for its column) is
/// dead-lettered with PostgreSQL's SQLSTATE and message; a lost connection is retried.
public final class PostgresSink: Sink {
    public static let kind = CRMLoadResult.Sink.postgres
    public typealias Input = MessageEnvelope<CRMUpsert>

    public let schema: String
    public let resultsTopic: String
    let url: String
    let contracts: MessageContracts
    private let connection: Mutex<PostgresConnection?>
    /// Columns known to exist, per table.
    private let knownColumns = Mutex<[String: Set<String>]>([:])

    /// Connects nothing yet: `prepare()` does, off the cooperative pool.
    public init(url: String, schema: String = "billsync_crm", resultsTopic: String, contracts: MessageContracts) {
        self.url = url
        self.schema = schema
        self.resultsTopic = resultsTopic
        self.contracts = contracts
        connection = Mutex(nil)
    }

    public var batchSize: Int { 500 }

    private let schemaReady = Mutex(false)

    /// Connects and creates the schema: at startup, so a wrong URL stops the worker at once
    /// (and before the first batch, if it was not called). A connection lost later is opened
    /// again by the next statement.
    public func prepare() async throws {
        guard !schemaReady.withLock({ $0 }) else { return }
        try await database().query("CREATE SCHEMA IF NOT EXISTS \(PostgresConnection.quoted(identifier: schema))")
        schemaReady.withLock { $0 = true }
    }

    /// The open connection, or a new one (connecting blocks in libpq, so it runs on the
    /// connection's own queue, not on the cooperative pool).
    func database() async throws -> PostgresConnection {
        if let current = connection.withLock({ $0 }) { return current }
        let fresh = try await PostgresConnection.connect(url: url)
        return connection.withLock { current in
            if let current { return current }
            current = fresh
            return fresh
        }
    }

    public func handle(_ batch: [ContractMessage<CRMUpsert>]) async -> [Result<[OutgoingMessage], StageFailure>] {
        do {
            try await prepare()
        } catch {
            connection.withLock { $0 = nil }
            return batch.map { _ in .failure(.transient("pg.schema", "cannot create schema \(schema): \(error)")) }
        }
        var results: [Result<[OutgoingMessage], StageFailure>] = []
        for message in batch {
            do {
                let created = try await upsert(message.envelope.payload)
                results.append(.success([try LoadResults(sink: .postgres, topic: resultsTopic, contracts: contracts).message(
                    for: message, outcome: created ? .created : .updated, recordId: message.envelope.payload.externalId)]))
            } catch let error as PostgresError where !error.isTransient {
                results.append(.failure(.permanent("pg.\(error.sqlState ?? "error")", error.message)))
            } catch let error as PostgresError {
                // A lost connection: open a new one for the retry.
                connection.withLock { $0 = nil }
                results.append(.failure(.transient("pg.\(error.sqlState ?? "connection")", error.message)))
            } catch {
                results.append(.failure(StageFailure(unexpected: error)))
            }
        }
        return results
    }

    /// Returns true when the row was created, false when it was updated.
    func upsert(_ upsert: CRMUpsert) async throws -> Bool {
        let table = "\(PostgresConnection.quoted(identifier: schema)).\(PostgresConnection.quoted(identifier: upsert.object.lowercased()))"
        let key = upsert.externalIdField.lowercased()
        let fields = upsert.fields.keys.filter { $0.lowercased() != key }.sorted()
        try await ensureColumns(table: table, key: key, upsert: upsert, fields: fields)
        var columns = [PostgresConnection.quoted(identifier: key)]
        var values = ["$1"]
        var parameters: [String?] = [upsert.externalId]
        for field in fields {
            let value = upsert.fields[field]!
            parameters.append(Self.text(value))
            columns.append(PostgresConnection.quoted(identifier: field.lowercased()))
            values.append("$\(parameters.count)::\(Self.type(of: value))")
        }
        columns.append("billsync_loaded_at")
        values.append("now()")
        let updates = columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        let rows = try await database().query("""
            INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(values.joined(separator: ", ")))
            ON CONFLICT (\(PostgresConnection.quoted(identifier: key))) DO UPDATE SET \(updates)
            RETURNING (xmax = 0) AS created
            """, parameters)
        return rows.first?["created"] == "t"
    }

    func ensureColumns(table: String, key: String, upsert: CRMUpsert, fields: [String]) async throws {
        let known = knownColumns.withLock { $0[table] }
        if known == nil {
            try await database().query("""
                CREATE TABLE IF NOT EXISTS \(table) (\(PostgresConnection.quoted(identifier: key)) text PRIMARY KEY, billsync_loaded_at timestamptz NOT NULL)
                """)
        }
        var present = known ?? []
        for field in fields where !present.contains(field.lowercased()) {
            let type = Self.type(of: upsert.fields[field]!)
            try await database().query("ALTER TABLE \(table) ADD COLUMN IF NOT EXISTS \(PostgresConnection.quoted(identifier: field.lowercased())) \(type)")
            present.insert(field.lowercased())
        }
        knownColumns.withLock { $0[table] = present }
    }

    static func type(of value: CRMFieldValue) -> String {
        switch value {
        case .decimal: "numeric"
        case .bool: "boolean"
        case .string, .null: "text"
        }
    }

    static func text(_ value: CRMFieldValue) -> String? {
        switch value {
        case let .string(text): text
        case let .decimal(decimal): "\(decimal)"
        case let .bool(bool): bool ? "true" : "false"
        case .null: nil
        }
    }
}
