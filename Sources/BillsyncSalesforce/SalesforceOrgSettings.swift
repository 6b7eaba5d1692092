import Foundation

/// Where and how an integration reaches the org, from the environment: what the loader and the
/// alerter's reconciliation read alike.
public struct SalesforceOrgSettings: Sendable {
    public var loginURL = URL(string: "https://login.salesforce.com")!
    /// The JWT audience; https://test.salesforce.com for sandboxes.
    public var audience = "https://login.salesforce.com"
    /// Of the org's daily API limit, the share billsync may use.
    public var budgetShare = 0.8

    public init() {}

    /// SALESFORCE_LOGIN_URL, SALESFORCE_AUDIENCE, BILLSYNC_LOADER_BUDGET_SHARE (0.05–1).
    public init(environment: [String: String]) throws {
        if let text = environment["SALESFORCE_LOGIN_URL"] {
            guard let url = URL(string: text), url.scheme == "https" || url.scheme == "http" else {
                throw SalesforceError.configuration("SALESFORCE_LOGIN_URL '\(text)' is not an http(s) URL")
            }
            loginURL = url
        }
        audience = environment["SALESFORCE_AUDIENCE"] ?? audience
        if let text = environment["BILLSYNC_LOADER_BUDGET_SHARE"] {
            guard let share = Double(text), (0.05...1).contains(share) else {
                throw SalesforceError.configuration("BILLSYNC_LOADER_BUDGET_SHARE '\(text)' is not a share between 0.05 and 1")
            }
            budgetShare = share
        }
    }
}
