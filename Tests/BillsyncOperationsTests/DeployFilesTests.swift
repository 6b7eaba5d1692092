import BillsyncTestSupport
import Foundation
import Testing

@Suite("The deployment files are valid Kubernetes objects and run the fleet as it must run")
struct DeployFilesTests {
    static let directory = TestRepository.root.appendingPathComponent("Deploy/kubernetes")

    static var manifests: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
            .map { directory.appendingPathComponent($0).path }
    }

    @Test("every manifest passes kubernetes-validate (offline, strict) for Kubernetes 1.30")
    func valid() async throws {
        #expect(Self.manifests.count >= 5)
        let validator = URL(fileURLWithPath: TestRepository.python).deletingLastPathComponent().appendingPathComponent("kubernetes-validate").path
        let output = String(decoding: try await TestRepository.run(validator, ["--strict", "-k", "1.30.0"] + Self.manifests), as: UTF8.self)
        #expect(output.components(separatedBy: "passed for resource").count - 1 == Self.manifests.count, "\(output)")
    }

    @Test("the rollup role runs as exactly one replica and is replaced, never doubled; no secret is an argument")
    func rollupIsSingle() throws {
        let rollup = try String(contentsOf: Self.directory.appendingPathComponent("rollup.yaml"), encoding: .utf8)
        #expect(rollup.contains("replicas: 1") && rollup.contains("type: Recreate") && rollup.contains(#""--role", "rollup""#))
        for path in Self.manifests where !path.hasSuffix("secrets.example.yaml") {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            for line in text.split(separator: "\n") where line.contains("command:") {
                #expect(!line.lowercased().contains("secret") && !line.lowercased().contains("token") && !line.contains("password"), "\(line)")
            }
        }
    }
}
