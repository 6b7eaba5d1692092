import BillsyncSalesforce

/// Reads one CRM record back by its external id, for reconciliation.
public protocol CRMReadBack: Sendable {
    /// The record's fields as text (numbers in `SyncReport.Reconciliation.comparable` form,
    /// booleans `true`/`false`, empty fields left out); nil when no record has that external id.
    func record(object: String, externalIdField: String, externalId: String) async throws -> [String: String]?
}

/// Salesforce: one `GET sobjects/<object>/<field>/<value>` per record.
extension SalesforceClient: CRMReadBack {}
