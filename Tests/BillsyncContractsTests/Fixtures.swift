import BillsyncContracts
import BillsyncTestSupport
import Foundation

/// Paths the contract tests read: the repository's `Schemas/` and its examples.
enum Fixtures {
    static let root = TestRepository.root
    static let schemas = TestRepository.schemas
    static let examples = schemas.appendingPathComponent("examples", isDirectory: true)
    static let contracts = TestRepository.contracts

    struct Example: CustomStringConvertible {
        let url: URL
        let type: String
        let expectedValid: Bool
        var description: String { "\(type)/\(expectedValid ? "valid" : "invalid")/\(url.lastPathComponent)" }
        var bytes: [UInt8] { [UInt8]((try? Data(contentsOf: url)) ?? Data()) }
    }

    /// Every file under `Schemas/examples/<type>/{valid,invalid}/`.
    static let allExamples: [Example] = {
        let files = FileManager.default.enumerator(at: examples, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "json" } ?? []
        return files.map { url in
            let verdict = url.deletingLastPathComponent().lastPathComponent
            let type = url.deletingLastPathComponent().deletingLastPathComponent().lastPathComponent
            return Example(url: url, type: type, expectedValid: verdict == "valid")
        }.sorted { $0.description < $1.description }
    }()

    static var python: String { TestRepository.python }

    /// Runs a program and returns its standard output; throws with its output when it fails.
    static func run(_ executable: String, _ arguments: [String]) async throws -> String {
        String(decoding: try await TestRepository.run(executable, arguments), as: UTF8.self)
    }
}
