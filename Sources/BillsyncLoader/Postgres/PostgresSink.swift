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
/// Tables and columns are created as objects and fields first appear (each in its own statement,
/// before the rows: they stay whatever becomes of the rows); the schema is created at startup.
/// A chunk's rows are written in **one transaction**, with bound parameters. A record the
/// database refuses (a value of the wrong type for its column) is dead-lettered with
/// PostgreSQL's SQLSTATE and message: the transaction is rolled back and run again without it,
/// so the others are written and nothing of the refused one is. A lost connection, a deadlock
/// or a serialisation failure fails the whole chunk as transient (none of it was written).
public final class PostgresSink: Sink {
    public static let kind = CRMLoadResult.Sink.postgres
    public typealias Input = MessageEnvelope<CRMUpsert>

    public let schema: String
    public let resultsTopic: String
    let database: PostgresPool
    let contracts: MessageContracts
    /// Columns known to exist, per table.
    private let knownColumns = Mutex<[String: Set<String>]>([:])
    private let schemaReady = Mutex(false)

    /// Connects nothing yet: `prepare()` does. `database` must be running (in the worker's
    /// service group) for `handle`.
    public init(database: PostgresPool, schema: String = "billsync_crm", resultsTopic: String, contracts: MessageContracts) {
        self.database = database
        self.schema = schema
        self.resultsTopic = resultsTopic
        self.contracts = contracts
    }

    public var batchSize: Int { 500 }

    var createSchema: String { "CREATE SCHEMA IF NOT EXISTS \(PostgresSession.quoted(identifier: schema))" }

    /// Creates the schema over a connection of its own: at startup, so a wrong address,
    /// password or TLS mode stops the worker at once (before its pool runs).
    public func prepare() async throws {
        guard !schemaReady.withLock({ $0 }) else { return }
        try await database.check(createSchema)
        schemaReady.withLock { $0 = true }
    }

    public func handle(_ batch: [ContractMessage<CRMUpsert>]) async -> [Result<[OutgoingMessage], StageFailure>] {
        if !schemaReady.withLock({ $0 }) {
            do {
                try await database.query(createSchema)
                schemaReady.withLock { $0 = true }
            } catch {
                return batch.map { _ in .failure(.transient("pg.schema", "cannot create schema \(schema): \(error)")) }
            }
        }
        var outcomes = [Result<[OutgoingMessage], StageFailure>?](repeating: nil, count: batch.count)
        var pending: [Int] = []
        for (index, message) in batch.enumerated() {
            do {
                try await ensureColumns(for: message.envelope.payload)
                pending.append(index)
            } catch {
                outcomes[index] = .failure(Self.failure(error))
            }
        }
        // One transaction per chunk; a refused row is taken out and the rest written again.
        while !pending.isEmpty {
            do {
                let created = try await database.withTransaction { session in
                    var created: [Bool] = []
                    for index in pending {
                        do {
                            created.append(try await upsert(batch[index].envelope.payload, on: session))
                        } catch let error as PostgresError where !error.isTransient {
                            throw RefusedRow(index: index, error: error)
                        }
                    }
                    return created
                }
                for (index, wasCreated) in zip(pending, created) {
                    outcomes[index] = result(for: batch[index], created: wasCreated)
                }
                pending = []
            } catch let refused as RefusedRow {
                outcomes[refused.index] = .failure(Self.failure(refused.error))
                pending.removeAll { $0 == refused.index }
            } catch {
                for index in pending { outcomes[index] = .failure(Self.failure(error)) }
                pending = []
            }
        }
        return outcomes.map { $0 ?? .failure(.transient("pg.unwritten", "the record was not written")) }
    }

    /// A row the database refused inside the chunk's transaction.
    struct RefusedRow: Error {
        let index: Int
        let error: PostgresError
    }

    func result(for message: ContractMessage<CRMUpsert>, created: Bool) -> Result<[OutgoingMessage], StageFailure> {
        do {
            return .success([try LoadResults(sink: .postgres, topic: resultsTopic, contracts: contracts).message(
                for: message, outcome: created ? .created : .updated, recordId: message.envelope.payload.externalId)])
        } catch {
            return .failure(StageFailure(unexpected: error))
        }
    }

    static func failure(_ error: any Error) -> StageFailure {
        guard let error = error as? PostgresError else { return StageFailure(unexpected: error) }
        if error.isTransient { return .transient("pg.\(error.sqlState ?? "connection")", error.message) }
        return .permanent("pg.\(error.sqlState ?? "error")", error.message)
    }

    func table(of upsert: CRMUpsert) -> String {
        "\(PostgresSession.quoted(identifier: schema)).\(PostgresSession.quoted(identifier: upsert.object.lowercased()))"
    }

    func fields(of upsert: CRMUpsert) -> [String] {
        upsert.fields.keys.filter { $0.lowercased() != upsert.externalIdField.lowercased() }.sorted()
    }

    /// Returns true when the row was created, false when it was updated.
    func upsert(_ upsert: CRMUpsert, on session: PostgresSession) async throws -> Bool {
        let key = PostgresSession.quoted(identifier: upsert.externalIdField.lowercased())
        var columns = [key]
        var values = ["$1"]
        var parameters: [PostgresValue] = [.text(upsert.externalId)]
        for field in fields(of: upsert) {
            let value = upsert.fields[field]!
            parameters.append(Self.parameter(value))
            columns.append(PostgresSession.quoted(identifier: field.lowercased()))
            values.append("$\(parameters.count)::\(Self.type(of: value))")
        }
        columns.append("billsync_loaded_at")
        values.append("now()")
        let updates = columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        let rows = try await session.query("""
            INSERT INTO \(table(of: upsert)) (\(columns.joined(separator: ", "))) VALUES (\(values.joined(separator: ", ")))
            ON CONFLICT (\(key)) DO UPDATE SET \(updates)
            RETURNING (xmax = 0) AS created
            """, parameters)
        return rows.first?["created"] == "t"
    }

    func ensureColumns(for upsert: CRMUpsert) async throws {
        let table = table(of: upsert)
        let known = knownColumns.withLock { $0[table] }
        if known == nil {
            try await database.query("""
                CREATE TABLE IF NOT EXISTS \(table) (\(PostgresSession.quoted(identifier: upsert.externalIdField.lowercased())) text PRIMARY KEY, \
                billsync_loaded_at timestamptz NOT NULL)
                """)
        }
        var present = known ?? []
        for field in fields(of: upsert) where !present.contains(field.lowercased()) {
            let type = Self.type(of: upsert.fields[field]!)
            try await database.query("ALTER TABLE \(table) ADD COLUMN IF NOT EXISTS \(PostgresSession.quoted(identifier: field.lowercased())) \(type)")
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

    /// Strings as text, numbers as numeric and booleans in postgres-nio's binary encoding.
    static func parameter(_ value: CRMFieldValue) -> PostgresValue {
        switch value {
        case let .string(text): .text(text)
        case let .decimal(decimal): .numeric(decimal)
        case let .bool(bool): .boolean(bool)
        case .null: .null
        }
    }
}
