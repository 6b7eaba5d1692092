import BillsyncContracts
import Foundation

/// Paths the contract tests read: the repository's `Schemas/` and its examples.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let schemas = root.appendingPathComponent("Schemas", isDirectory: true)
    static let examples = schemas.appendingPathComponent("examples", isDirectory: true)

    static let contracts: MessageContracts = {
        do { return try MessageContracts(directory: schemas) } catch { fatalError("the schemas do not compile: \(error)") }
    }()

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

    /// The Python with jsonschema that scripts/setup.sh installs (or BILLSYNC_PYTHON).
    static var python: String {
        ProcessInfo.processInfo.environment["BILLSYNC_PYTHON"] ?? "/usr/local/lib/billsync/python/bin/python"
    }

    /// Runs a program and returns its standard output; throws with its output when it fails.
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw ToolFailure(output: text + String(decoding: errorData, as: UTF8.self))
        }
        return text
    }

    struct ToolFailure: Error, CustomStringConvertible {
        let output: String
        var description: String { output }
    }
}
