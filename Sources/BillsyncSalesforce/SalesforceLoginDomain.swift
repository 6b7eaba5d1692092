import Foundation

/// Where the loader may log in with which flow. Salesforce grants the OAuth 2.0 client
/// credentials flow only on the org's My Domain (`https://<MyDomainName>.my.salesforce.com`,
/// a sandbox's `…sandbox.my.salesforce.com`); login.salesforce.com and test.salesforce.com answer
/// `invalid_grant` ("request not supported on this domain"). Found at startup, that mistake
/// names the setting to change instead of failing every login later.
enum SalesforceLoginDomain {
    /// The generic login hosts, which serve the JWT bearer flow but not client credentials.
    static let genericLoginHosts: Set<String> = ["login.salesforce.com", "test.salesforce.com"]

    static func check(_ loginURL: URL, for credentials: SalesforceCredentials) throws {
        guard case .clientCredentials = credentials, let host = loginURL.host?.lowercased() else { return }
        // Any other salesforce.com host that is not *.my.salesforce.com is an instance, not a My Domain.
        guard genericLoginHosts.contains(host) || (host.hasSuffix(".salesforce.com") && !host.hasSuffix(".my.salesforce.com")) else { return }
        throw SalesforceError.configuration("""
            the client credentials flow works only on the org's My Domain, and SALESFORCE_LOGIN_URL is \(loginURL.absoluteString): \
            set SALESFORCE_LOGIN_URL to https://<MyDomainName>.my.salesforce.com (a sandbox: \
            https://<MyDomainName>--<SandboxName>.sandbox.my.salesforce.com), or use the JWT bearer flow \
            (SALESFORCE_PRIVATE_KEY[_FILE] and SALESFORCE_USERNAME)
            """)
    }
}
