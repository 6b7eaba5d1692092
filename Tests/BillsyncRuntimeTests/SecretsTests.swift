import BillsyncRuntime
import Foundation
import Testing

@Suite("A secret comes from the environment or from a mounted file, never shown in an error")
struct SecretsTests {
    @Test("the variable wins, else the file is read and trimmed, else nothing; an unreadable file is named, not its content")
    func sources() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)")
        try Data("  s3cr3t-from-file\n".utf8).write(to: file)
        #expect(try Secrets.read("TOKEN", from: ["TOKEN": "direct", "TOKEN_FILE": file.path]) == "direct")
        #expect(try Secrets.read("TOKEN", from: ["TOKEN_FILE": file.path]) == "s3cr3t-from-file")
        #expect(try Secrets.read("TOKEN", from: [:]) == nil)
        do {
            _ = try Secrets.read("TOKEN", from: ["TOKEN_FILE": "/nonexistent/token"])
            Issue.record("an unreadable file was accepted")
        } catch {
            #expect("\(error)" == "TOKEN_FILE: cannot read /nonexistent/token")
        }
    }
}
