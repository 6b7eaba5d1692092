import BillsyncRuntime
import Foundation

/// How the loader logs in to Salesforce. Secrets come from the environment or from files,
/// never from arguments, and `description` never shows them.
public enum SalesforceCredentials: Sendable, CustomStringConvertible {
    /// OAuth 2.0 client credentials flow (a connected app's key and secret).
    case clientCredentials(clientID: String, clientSecret: String)
    /// OAuth 2.0 JWT bearer flow: an assertion signed with the connected app's RS256 key.
    case jwtBearer(clientID: String, username: String, privateKeyPEM: String)

    public var description: String {
        switch self {
        case let .clientCredentials(clientID, _): "client credentials of \(clientID)"
        case let .jwtBearer(clientID, username, _): "JWT bearer for \(username) via \(clientID)"
        }
    }

    /// `SALESFORCE_CLIENT_ID[_FILE]` with `SALESFORCE_PRIVATE_KEY[_FILE]` and `SALESFORCE_USERNAME` (JWT),
    /// or with `SALESFORCE_CLIENT_SECRET[_FILE]` (client credentials).
    public static func fromEnvironment(_ environment: [String: String]) throws -> SalesforceCredentials {
        func secret(_ name: String) throws -> String? {
            do {
                return try Secrets.read(name, from: environment)
            } catch {
                throw SalesforceError.configuration("\(error)")
            }
        }
        guard let clientID = try secret("SALESFORCE_CLIENT_ID") else {
            throw SalesforceError.configuration("SALESFORCE_CLIENT_ID (or SALESFORCE_CLIENT_ID_FILE) is not set")
        }
        if let key = try secret("SALESFORCE_PRIVATE_KEY") {
            guard let username = environment["SALESFORCE_USERNAME"], !username.isEmpty else {
                throw SalesforceError.configuration("the JWT bearer flow needs SALESFORCE_USERNAME")
            }
            return .jwtBearer(clientID: clientID, username: username, privateKeyPEM: key)
        }
        if let clientSecret = try secret("SALESFORCE_CLIENT_SECRET") {
            return .clientCredentials(clientID: clientID, clientSecret: clientSecret)
        }
        throw SalesforceError.configuration("set SALESFORCE_PRIVATE_KEY[_FILE] (JWT bearer) or SALESFORCE_CLIENT_SECRET[_FILE] (client credentials)")
    }
}
