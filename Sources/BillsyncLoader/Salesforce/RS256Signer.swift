import COpenSSL
import Foundation

/// Signs JWT bearer assertions with an RSA private key (RS256). Owns the OpenSSL key and frees it.
final class RS256Signer: @unchecked Sendable {
    struct KeyError: Error, CustomStringConvertible {
        let description: String
    }

    /// Immutable after init; OpenSSL allows concurrent signing with one key.
    private let key: OpaquePointer

    init(privateKeyPEM: String) throws {
        let loaded: OpaquePointer? = Array(privateKeyPEM.utf8).withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        // The key text itself is never part of an error: it is a secret.
        guard let loaded else { throw KeyError(description: "the private key is not a PEM RSA private key") }
        key = loaded
    }

    deinit { EVP_PKEY_free(key) }

    func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw KeyError(description: "cannot create a signing context") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key) == 1 else { throw KeyError(description: "the key cannot sign RS256") }
        var length = 0
        guard EVP_DigestSign(context, nil, &length, message, message.count) == 1 else { throw KeyError(description: "signing failed") }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &signature, &length, message, message.count) == 1 else { throw KeyError(description: "signing failed") }
        return Array(signature.prefix(length))
    }

    static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
