import BillsyncContracts
import Foundation
import Testing

@Suite("Our validator and Python's jsonschema give every example the same verdict")
struct DifferentialValidationTests {
    struct PythonVerdict: Decodable {
        let file: String
        let valid: Bool
        let errors: [String]
    }

    @Test("every message type has valid and invalid examples")
    func examplesCoverEveryType() {
        let types = Set(Fixtures.allExamples.map(\.type))
        for type in MessageType.allCases {
            #expect(types.contains(type.rawValue), "no examples for \(type.rawValue)")
            #expect(Fixtures.allExamples.contains { $0.type == type.rawValue && $0.expectedValid })
            #expect(Fixtures.allExamples.contains { $0.type == type.rawValue && !$0.expectedValid })
        }
    }

    @Test("each example's verdict is the expected one, in Swift and in Python")
    func sameVerdicts() async throws {
        let examples = Fixtures.allExamples
        #expect(examples.count >= 100)
        let output = try await Fixtures.run(Fixtures.python, [
            Fixtures.root.appendingPathComponent("scripts/validate_messages.py").path, Fixtures.schemas.path,
        ] + examples.map(\.url.path))
        let python = try output.split(separator: "\n").map { try JSONDecoder().decode(PythonVerdict.self, from: Data($0.utf8)) }
        let pythonByFile = Dictionary(uniqueKeysWithValues: python.map { ($0.file, $0) })
        for example in examples {
            let swift = Fixtures.contracts.validate(example.bytes)
            let swiftValid: Bool
            let swiftReason: String
            switch swift {
            case .success: (swiftValid, swiftReason) = (true, "")
            case let .failure(violation): (swiftValid, swiftReason) = (false, violation.description)
            }
            let reference = try #require(pythonByFile[example.url.path], "python skipped \(example)")
            #expect(swiftValid == example.expectedValid, "\(example): Swift said \(swiftValid) \(swiftReason)")
            #expect(reference.valid == example.expectedValid, "\(example): Python said \(reference.valid) \(reference.errors)")
        }
    }

    @Test("every schema file is itself a valid draft 2020-12 schema (check-jsonschema)")
    func schemasPassTheMetaschema() async throws {
        let tool = URL(fileURLWithPath: Fixtures.python).deletingLastPathComponent().appendingPathComponent("check-jsonschema").path
        let files = try FileManager.default.contentsOfDirectory(atPath: Fixtures.schemas.path)
            .filter { $0.hasSuffix(".schema.json") }.map { Fixtures.schemas.appendingPathComponent($0).path }
        #expect(files.count == MessageType.allCases.count + 2)
        let output = try await Fixtures.run(tool, ["--check-metaschema"] + files)
        #expect(output.contains("ok"))
    }
}
