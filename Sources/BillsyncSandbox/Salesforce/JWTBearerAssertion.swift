import _CryptoExtras
import Crypto
import Foundation
import X509

/// Checks an OAuth 2.0 JWT bearer assertion as Salesforce does: RS256, signed by the key of
/// the connected app's certificate, `iss` the client id, `sub` the user, `aud` the login URL,
/// `exp` (a number or a string of one) in the future.
enum JWTBearerAssertion {
    struct Rejected: Error, CustomStringConvertible {
        let description: String
    }

    static func verify(_ assertion: String, configuration: SalesforceEmulatorConfiguration, now: Date = Date()) throws {
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = base64URL(parts[0]), let payloadData = base64URL(parts[1]),
              let signature = base64URL(parts[2]) else { throw Rejected(description: "invalid assertion") }
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any], header["alg"] as? String == "RS256" else {
            throw Rejected(description: "invalid assertion: only RS256 is accepted")
        }
        guard let claims = try? JSONSerialization.jsonObject(with: payloadData) as? [String: Any] else {
            throw Rejected(description: "invalid assertion")
        }
        guard let pem = configuration.jwtPublicKeyPEM else { throw Rejected(description: "no certificate is configured for this client") }
        guard try signatureIsValid(signature, over: Array("\(parts[0]).\(parts[1])".utf8), pem: pem) else {
            throw Rejected(description: "invalid assertion: signature does not verify")
        }
        guard claims["iss"] as? String == configuration.clientID else { throw Rejected(description: "invalid client credentials") }
        guard claims["sub"] as? String == configuration.username else { throw Rejected(description: "user hasn't approved this consumer") }
        let audience = (claims["aud"] as? String) ?? (claims["aud"] as? [String])?.first
        guard audience.map({ $0.trimmingSuffix("/") }) == configuration.loginURL.trimmingSuffix("/") else {
            throw Rejected(description: "audience is invalid")
        }
        let expiry = (claims["exp"] as? NSNumber)?.doubleValue ?? (claims["exp"] as? String).flatMap(Double.init)
        guard let expiry else { throw Rejected(description: "expiration time is missing") }
        guard expiry > now.timeIntervalSince1970 else { throw Rejected(description: "expired authorization code") }
    }

    static func base64URL(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }

    /// RSA-SHA256 (PKCS #1 v1.5) verification; `pem` is a public key or a certificate.
    static func signatureIsValid(_ signature: Data, over message: [UInt8], pem: String) throws -> Bool {
        let key: _RSA.Signing.PublicKey
        do {
            if pem.contains("BEGIN CERTIFICATE") {
                guard let rsa = _RSA.Signing.PublicKey(try Certificate(pemEncoded: pem).publicKey) else {
                    throw Rejected(description: "the configured certificate's key is not RSA")
                }
                key = rsa
            } else {
                key = try _RSA.Signing.PublicKey(pemRepresentation: pem)
            }
        } catch let rejected as Rejected {
            throw rejected
        } catch {
            throw Rejected(description: "the configured certificate cannot be read")
        }
        return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: message),
                                    padding: .insecurePKCS1v1_5)
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
