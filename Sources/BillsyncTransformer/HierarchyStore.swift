import BillsyncContracts
import BillsyncJSON
import BillsyncSQLite
import Foundation

/// What the roll-ups are computed from: each account's place in its hierarchy, its latest bill
/// and its premises, kept in SQLite so they survive restarts. Every change is an idempotent
/// upsert of a fact, so reading a record twice (a retry, a restart) changes nothing.
public final class HierarchyStore: Sendable {
    private let database: SQLiteDatabase
    /// Hierarchies are three levels deep; the walk stops well beyond that even if the billing
    /// data holds a cycle.
    static let maximumDepth = 16

    public init(path: String) throws {
        database = try SQLiteDatabase(path: path)
        try database.execute("""
            CREATE TABLE IF NOT EXISTS hierarchy_account (account_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL,
                                                          parent_id TEXT, level TEXT);
            CREATE INDEX IF NOT EXISTS hierarchy_account_parent ON hierarchy_account (parent_id);
            CREATE TABLE IF NOT EXISTS hierarchy_bill (account_id TEXT PRIMARY KEY, bill_date TEXT NOT NULL,
                                                       amount_due TEXT NOT NULL, revenue TEXT);
            CREATE TABLE IF NOT EXISTS hierarchy_premise (nmi TEXT PRIMARY KEY, account_id TEXT NOT NULL, active INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS hierarchy_premise_account ON hierarchy_premise (account_id);
            """)
    }

    /// One parent's totals, over itself and every account below it.
    public struct Totals: Sendable, Equatable {
        public let accountId: String
        public let customerId: String
        public var amountDue: Decimal = 0
        public var revenue: Decimal = 0
        public var activeServices = 0
    }

    /// Records the facts a raw record carries and returns the accounts whose place or figures
    /// changed (before and after: a moved account affects its old parent too).
    public func record(_ fields: JSONValue, type: MessageType) throws -> Set<String> {
        func text(_ key: String) -> String? { fields[key]?.stringValue }
        return try database.transaction { transaction in
            switch type {
            case .billingAccount:
                guard let accountId = text("accountId"), let customerId = text("customerId") else { return [] }
                let previous = try transaction.query("SELECT parent_id FROM hierarchy_account WHERE account_id = ?", [.text(accountId)])
                try transaction.query("""
                    INSERT INTO hierarchy_account (account_id, customer_id, parent_id, level) VALUES (?, ?, ?, ?)
                    ON CONFLICT (account_id) DO UPDATE SET customer_id = excluded.customer_id, parent_id = excluded.parent_id, level = excluded.level
                    """, [.text(accountId), .text(customerId), text("parentAccountId").map(SQLiteValue.text) ?? .null,
                          text("hierarchyLevel").map(SQLiteValue.text) ?? .null])
                var affected: Set<String> = [accountId]
                if let oldParent = previous.first?.first?.text { affected.insert(oldParent) }
                return affected
            case .billingBill:
                // Amounts are decimal strings (the contract's money type).
                guard let accountId = text("accountId"), let date = text("lastBillDate"), let amount = text("amountDue") else { return [] }
                let revenue = text("fiscalYearToDateRevenue").map(SQLiteValue.text) ?? .null
                // Only a bill at least as recent as the one held replaces it.
                try transaction.query("""
                    INSERT INTO hierarchy_bill (account_id, bill_date, amount_due, revenue) VALUES (?, ?, ?, ?)
                    ON CONFLICT (account_id) DO UPDATE SET bill_date = excluded.bill_date, amount_due = excluded.amount_due,
                        revenue = excluded.revenue WHERE excluded.bill_date >= hierarchy_bill.bill_date
                    """, [.text(accountId), .text(date), .text(amount), revenue])
                return [accountId]
            case .billingPremise:
                guard let accountId = text("accountId"), let nmi = text("nmi"), case let .bool(active)? = fields["active"] else { return [] }
                let previous = try transaction.query("SELECT account_id FROM hierarchy_premise WHERE nmi = ?", [.text(nmi)])
                try transaction.query("""
                    INSERT INTO hierarchy_premise (nmi, account_id, active) VALUES (?, ?, ?)
                    ON CONFLICT (nmi) DO UPDATE SET account_id = excluded.account_id, active = excluded.active
                    """, [.text(nmi), .text(accountId), .integer(active ? 1 : 0)])
                var affected: Set<String> = [accountId]
                if let oldAccount = previous.first?.first?.text { affected.insert(oldAccount) }
                return affected
            default:
                return []
            }
        }
    }

    /// The parent accounts (C1 and C2) at or above these accounts, whose totals may have changed.
    public func parents(affectedBy accounts: Set<String>) throws -> [String] {
        var found: [String] = []
        var seen = Set<String>()
        for account in accounts.sorted() {
            var current: String? = account
            var depth = 0
            while let id = current, depth < Self.maximumDepth, seen.insert(id).inserted {
                let row = try database.query("SELECT parent_id, level FROM hierarchy_account WHERE account_id = ?", [.text(id)]).first
                if let level = row?[1].text, level == "C1" || level == "C2" { found.append(id) }
                current = row?[0].text
                depth += 1
            }
        }
        return found
    }

    /// The totals of a parent account over itself and every account below it; nil while the
    /// parent's own account record (and so its customer id) has not arrived.
    public func totals(of accountId: String) throws -> Totals? {
        guard let customerId = try database.query("SELECT customer_id FROM hierarchy_account WHERE account_id = ?",
                                                   [.text(accountId)]).first?.first?.text else { return nil }
        var totals = Totals(accountId: accountId, customerId: customerId)
        let rows = try database.query("""
            WITH RECURSIVE tree(account_id, depth) AS (
                SELECT ?, 0
                UNION SELECT child.account_id, tree.depth + 1 FROM hierarchy_account child JOIN tree ON child.parent_id = tree.account_id
                WHERE tree.depth < \(Self.maximumDepth))
            SELECT DISTINCT tree.account_id, bill.amount_due, bill.revenue,
                   (SELECT count(*) FROM hierarchy_premise premise WHERE premise.account_id = tree.account_id AND premise.active = 1)
            FROM tree LEFT JOIN hierarchy_bill bill ON bill.account_id = tree.account_id
            """, [.text(accountId)])
        for row in rows {
            // Amounts stay exact: summed as decimals from their text, never as floating point.
            if let amount = row[1].text.flatMap(Money.init(parsing:)) { totals.amountDue += amount.value }
            if let revenue = row[2].text.flatMap(Money.init(parsing:)) { totals.revenue += revenue.value }
            totals.activeServices += Int(row[3].integer ?? 0)
        }
        return totals
    }
}
