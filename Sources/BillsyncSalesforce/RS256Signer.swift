import _CryptoExtras
import Crypto
import Foundation

/// Signs JWT bearer assertions with an RSA private key (RS256: PKCS #1 v1.5 over SHA-256, which
/// swift-crypto names `insecurePKCS1v1_5` because newer schemes exist; it is what RS256 is).
struct RS256Signer: Sendable {
    struct KeyError: Error, CustomStringConvertible {
        let description: String
    }

    private let key: _RSA.Signing.PrivateKey

    /// A PKCS #1 (`RSA PRIVATE KEY`) or PKCS #8 (`PRIVATE KEY`) PEM key of at least 2048 bits.
    init(privateKeyPEM: String) throws {
        do {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            // The key text itself is never part of an error: it is a secret.
            throw KeyError(description: "the private key is not a PEM RSA private key of at least 2048 bits")
        }
    }

    func sign(_ message: [UInt8]) throws -> [UInt8] {
        Array(try key.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5).rawRepresentation)
    }

    static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
