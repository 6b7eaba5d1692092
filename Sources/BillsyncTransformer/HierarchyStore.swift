import BillsyncContracts
import BillsyncJSON
import BillsyncSQLite
import Foundation

/// What the roll-ups are computed from: each account's place in its hierarchy, its latest bill
/// and its premises. A local cache in SQLite: the facts themselves live on the compacted
/// `rollup.facts` topic (`HierarchyFact`), written with the totals and read back into a fresh
/// store when the role starts, so a pod rescheduled with an empty disk computes from every fact.
/// Every change is an idempotent upsert of a fact, so reading a record twice changes nothing.
public final class HierarchyStore: Sendable {
    private let database: SQLiteDatabase
    /// Hierarchies are three levels deep; the walk stops well beyond that even if the billing
    /// data holds a cycle.
    static let maximumDepth = 16

    /// A store at `path`; `fresh` first removes what a previous process left there (the role
    /// rebuilds from the facts topic, which is the truth).
    public init(path: String, fresh: Bool = false, busyTimeout: Duration = .seconds(5)) throws {
        if fresh {
            for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        database = try SQLiteDatabase(path: path, busyTimeout: busyTimeout)
        try database.execute("""
            CREATE TABLE IF NOT EXISTS hierarchy_account (account_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL,
                                                          parent_id TEXT, level TEXT, former_parent_id TEXT);
            CREATE INDEX IF NOT EXISTS hierarchy_account_parent ON hierarchy_account (parent_id);
            CREATE TABLE IF NOT EXISTS hierarchy_bill (account_id TEXT PRIMARY KEY, bill_date TEXT NOT NULL,
                                                       amount_due TEXT NOT NULL, revenue TEXT);
            CREATE TABLE IF NOT EXISTS hierarchy_premise (nmi TEXT PRIMARY KEY, account_id TEXT NOT NULL, active INTEGER NOT NULL,
                                                          former_account_id TEXT);
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

    /// What one raw record changed: the accounts whose place or figures changed (a moved
    /// account's parent before and after, and the parent before its latest move), and the facts
    /// to write.
    public struct Change: Sendable {
        public var affected: Set<String> = []
        public var facts: [HierarchyFact] = []
    }

    /// Records the facts a raw record carries.
    public func record(_ fields: JSONValue, type: MessageType) throws -> Change {
        func text(_ key: String) -> String? { fields[key]?.stringValue }
        return try database.transaction { transaction in
            switch type {
            case .billingAccount:
                guard let accountId = text("accountId"), let customerId = text("customerId") else { return Change() }
                let previous = try transaction.query("SELECT parent_id, former_parent_id FROM hierarchy_account WHERE account_id = ?",
                                                     [.text(accountId)]).first
                let (oldParent, oldFormer) = (previous?[0].text, previous?[1].text)
                let parent = text("parentAccountId")
                let former = oldParent != nil && oldParent != parent ? oldParent : oldFormer
                let fact = HierarchyFact.account(accountId, customerId: customerId, parent: parent, level: text("hierarchyLevel"),
                                                 formerParent: former)
                try Self.apply(fact, in: transaction)
                return Change(affected: Set([accountId, oldParent, former].compactMap { $0 }), facts: [fact])
            case .billingBill:
                // Amounts are decimal strings (the contract's money type).
                guard let accountId = text("accountId"), let date = text("lastBillDate"), let amount = text("amountDue") else { return Change() }
                try Self.apply(.bill(accountId, date: date, amountDue: amount, revenue: text("fiscalYearToDateRevenue")), in: transaction)
                // The bill held now (an older one does not replace a newer): that is the fact.
                guard let row = try transaction.query("SELECT bill_date, amount_due, revenue FROM hierarchy_bill WHERE account_id = ?",
                                                      [.text(accountId)]).first,
                      let heldDate = row[0].text, let heldAmount = row[1].text else { return Change() }
                return Change(affected: [accountId], facts: [.bill(accountId, date: heldDate, amountDue: heldAmount, revenue: row[2].text)])
            case .billingPremise:
                guard let accountId = text("accountId"), let nmi = text("nmi"), case let .bool(active)? = fields["active"] else { return Change() }
                let previous = try transaction.query("SELECT account_id, former_account_id FROM hierarchy_premise WHERE nmi = ?",
                                                     [.text(nmi)]).first
                let (oldAccount, oldFormer) = (previous?[0].text, previous?[1].text)
                let former = oldAccount != nil && oldAccount != accountId ? oldAccount : oldFormer
                let fact = HierarchyFact.premise(nmi, accountId: accountId, active: active, formerAccount: former)
                try Self.apply(fact, in: transaction)
                return Change(affected: Set([accountId, oldAccount, former].compactMap { $0 }), facts: [fact])
            default:
                return Change()
            }
        }
    }

    /// Takes back facts read from the facts topic (the latest per key).
    public func restore(_ facts: [HierarchyFact]) throws {
        try database.transaction { transaction in
            for fact in facts { try Self.apply(fact, in: transaction) }
        }
    }

    /// Writes a fact. A bill replaces the one held only when at least as recent.
    static func apply(_ fact: HierarchyFact, in transaction: SQLiteDatabase.Transaction) throws {
        func optional(_ text: String?) -> SQLiteValue { text.map(SQLiteValue.text) ?? .null }
        switch fact.kind {
        case .account:
            try transaction.query("""
                INSERT INTO hierarchy_account (account_id, customer_id, parent_id, level, former_parent_id) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (account_id) DO UPDATE SET customer_id = excluded.customer_id, parent_id = excluded.parent_id,
                    level = excluded.level, former_parent_id = excluded.former_parent_id
                """, [.text(fact.accountId), .text(fact.customerId ?? ""), optional(fact.parentAccountId), optional(fact.hierarchyLevel),
                      optional(fact.formerParentAccountId)])
        case .bill:
            try transaction.query("""
                INSERT INTO hierarchy_bill (account_id, bill_date, amount_due, revenue) VALUES (?, ?, ?, ?)
                ON CONFLICT (account_id) DO UPDATE SET bill_date = excluded.bill_date, amount_due = excluded.amount_due,
                    revenue = excluded.revenue WHERE excluded.bill_date >= hierarchy_bill.bill_date
                """, [.text(fact.accountId), .text(fact.billDate ?? ""), .text(fact.amountDue ?? "0"), optional(fact.revenue)])
        case .premise:
            try transaction.query("""
                INSERT INTO hierarchy_premise (nmi, account_id, active, former_account_id) VALUES (?, ?, ?, ?)
                ON CONFLICT (nmi) DO UPDATE SET account_id = excluded.account_id, active = excluded.active,
                    former_account_id = excluded.former_account_id
                """, [.text(fact.nmi ?? ""), .text(fact.accountId), .integer(fact.active == true ? 1 : 0), optional(fact.formerAccountId)])
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
