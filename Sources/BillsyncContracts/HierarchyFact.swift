/// One fact the roll-up role computes its totals from (`hierarchy-fact.v1`), kept on a compacted
/// topic by `key`: the role's state survives a rescheduled pod with an empty disk.
///
/// Each fact is the state after the record that produced it, not the record: applying the
/// latest fact per key, in any order, rebuilds the state.
public struct HierarchyFact: MessagePayload {
    public static let messageType = MessageType.hierarchyFact

    public enum Kind: String, Codable, Sendable, Hashable { case account, bill, premise }

    public var kind: Kind
    public var accountId: String
    // An account's place.
    public var customerId: String?
    @ExplicitNull public var parentAccountId: String? = nil
    @ExplicitNull public var hierarchyLevel: String? = nil
    /// The parent before the account's latest move: its totals are recomputed with the
    /// account's, so a move processed again (a replay, a crash before acknowledgement) still
    /// corrects the parent it left.
    @ExplicitNull public var formerParentAccountId: String? = nil
    // An account's latest bill.
    public var billDate: String?
    public var amountDue: String?
    @ExplicitNull public var revenue: String? = nil
    // A premise's account.
    public var nmi: String?
    public var active: Bool?
    /// The account the premise belonged to before its latest move.
    @ExplicitNull public var formerAccountId: String? = nil

    public static func account(_ accountId: String, customerId: String, parent: String?, level: String?, formerParent: String?) -> Self {
        var fact = Self(kind: .account, accountId: accountId)
        fact.customerId = customerId
        fact.parentAccountId = parent
        fact.hierarchyLevel = level
        fact.formerParentAccountId = formerParent
        return fact
    }

    public static func bill(_ accountId: String, date: String, amountDue: String, revenue: String?) -> Self {
        var fact = Self(kind: .bill, accountId: accountId)
        fact.billDate = date
        fact.amountDue = amountDue
        fact.revenue = revenue
        return fact
    }

    public static func premise(_ nmi: String, accountId: String, active: Bool, formerAccount: String?) -> Self {
        var fact = Self(kind: .premise, accountId: accountId)
        fact.nmi = nmi
        fact.active = active
        fact.formerAccountId = formerAccount
        return fact
    }

    init(kind: Kind, accountId: String) {
        self.kind = kind
        self.accountId = accountId
    }

    /// Its key on the facts topic: one fact per account, per account's bill, per premise.
    public var key: String {
        switch kind {
        case .account: "account/\(accountId)"
        case .bill: "bill/\(accountId)"
        case .premise: "premise/\(nmi ?? "")"
        }
    }
}
