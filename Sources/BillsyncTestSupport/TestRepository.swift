import BillsyncSandbox
import BillsyncContracts
import Foundation

/// The repository the tests run in: its schemas, its deployment files, the pinned Python tools
/// `scripts/setup.sh` installs, and a way to run a helper program.
public enum TestRepository {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let schemas = root.appendingPathComponent("Schemas", isDirectory: true)
    public static let mappingFile = root.appendingPathComponent("Deploy/transformer/mapping.yaml")
    /// The shipped source mapping (the sample's exports) and the example for another engine's dialect.
    public static let sourceMappingFile = root.appendingPathComponent("Deploy/extractor/sources.yaml")
    public static let legacySourceMappingFile = root.appendingPathComponent("Deploy/extractor/examples/legacy-windows.yaml")

    /// The message contracts, compiled once for all tests.
    public static let contracts: MessageContracts = {
        do { return try MessageContracts(directory: schemas) } catch { fatalError("the schemas do not compile: \(error)") }
    }()

    /// The Python with jsonschema, simple-salesforce and confluent-kafka (BILLSYNC_PYTHON).
    public static var python: String {
        ProcessInfo.processInfo.environment["BILLSYNC_PYTHON"] ?? "/usr/local/lib/billsync/python/bin/python"
    }

    public struct ProgramFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs a program to completion and returns its standard output; fails with its output
    /// (both streams) when it exits non-zero.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], input: Data? = nil) async throws -> Data {
        let outcome = try await ChildProcess.run(URL(fileURLWithPath: executable), arguments: arguments, input: input)
        guard outcome.status == 0 else {
            throw ProgramFailure(description: "\(executable) \(outcome.termination): \(outcome.outputText)\(outcome.errorText)")
        }
        return outcome.output
    }

    /// A fresh RSA key and a self-signed certificate for it (for JWT bearer tests).
    public static func makeCertificate() async throws -> (key: String, certificate: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("certificate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = directory.appendingPathComponent("key.pem").path
        let certificate = directory.appendingPathComponent("cert.pem").path
        try await run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
                                     "-days", "1", "-subj", "/CN=billsync"])
        return (key, certificate)
    }

    /// A TCP port nobody listens on right now (the kernel's choice), for a server a test starts.
    public static func freePort() -> Int { SandboxServer.freePort() }
}
