import Foundation
import HTTPTypes
import Hummingbird

extension SalesforceEmulator {
    /// The OAuth 2.0 token endpoint, on the generic login host (`services/oauth2/token`; the
    /// request's `Host` says which domain it reached) and on the org's My Domain
    /// (`<myDomainHost>/services/oauth2/token`, for a local client that cannot set `Host`).
    func addTokenRoutes(to router: Router<BasicRequestContext>) {
        router.post("services/oauth2/token") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            return tokenResponse(form: String(buffer: body), authorization: request.headers[.authorization],
                                 domain: request.head.authority)
        }
        router.post(":domain/services/oauth2/token") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            return tokenResponse(form: String(buffer: body), authorization: request.headers[.authorization],
                                 domain: try context.parameters.require("domain"))
        }
    }

    /// Whether a token request reached the org's My Domain (the host, without its port).
    func isMyDomain(_ domain: String?) -> Bool {
        guard let domain else { return false }
        let host = domain.split(separator: ":").first.map(String.init) ?? domain
        return host.lowercased() == state.configuration.myDomainHost.lowercased()
    }

    /// OAuth 2.0 client credentials (only on My Domain, as Salesforce's "OAuth 2.0 Client
    /// Credentials Flow for Server-to-Server Integration" says) and JWT bearer.
    func tokenResponse(form: String, authorization: String?, domain: String?) -> Response {
        let parameters = FormParameters(form)
        let configuration = state.configuration
        func failure(_ error: String, _ description: String) -> Response {
            json(.badRequest, ["error": error, "error_description": description], usage: nil)
        }
        let clientID: String
        switch parameters["grant_type"] {
        case "client_credentials":
            // login.salesforce.com and test.salesforce.com do not grant it: the token request
            // must go to the org's My Domain.
            guard isMyDomain(domain) else { return failure("invalid_grant", "request not supported on this domain") }
            var id = parameters["client_id"]
            var secret = parameters["client_secret"]
            if let authorization, authorization.hasPrefix("Basic "),
               let decoded = Data(base64Encoded: String(authorization.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) }),
               let colon = decoded.firstIndex(of: ":") {
                id = String(decoded[..<colon]).removingPercentEncoding
                secret = String(decoded[decoded.index(after: colon)...]).removingPercentEncoding
            }
            guard let id, id == configuration.clientID else { return failure("invalid_client_id", "client identifier invalid") }
            guard secret == configuration.clientSecret else { return failure("invalid_client", "invalid client credentials") }
            clientID = id
        case "urn:ietf:params:oauth:grant-type:jwt-bearer":
            guard let assertion = parameters["assertion"] else { return failure("invalid_grant", "assertion is missing") }
            do {
                try JWTBearerAssertion.verify(assertion, configuration: configuration)
            } catch {
                return failure("invalid_grant", "\(error)")
            }
            clientID = configuration.clientID
        default:
            return failure("unsupported_grant_type", "grant type not supported")
        }
        let token = state.issueToken(clientID: clientID)
        return json(.ok, [
            "access_token": token, "instance_url": state.instanceURL ?? "", "id": "https://login.salesforce.com/id/00D000000000001EAA/005000000000001AAA",
            "token_type": "Bearer", "issued_at": String(Int64(Date().timeIntervalSince1970 * 1000)), "scope": "api",
            "signature": Data(token.utf8.prefix(32)).base64EncodedString(),
        ], usage: nil)
    }
}
