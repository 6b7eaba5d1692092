import BillsyncTestSupport
import Foundation

/// A real SMTP server (Python's aiosmtpd, from the project's tool environment) on 127.0.0.1.
/// It binds a port the system picks and prints it once it listens, which is the signal the
/// test waits for. Each mail it accepts is parsed by Python's `email` package (so a header or
/// encoding only our code would understand fails here) and written as one JSON file.
final class SMTPReceiver {
    /// One accepted mail, as the server and a mail parser saw it.
    struct Mail: Decodable, Sendable {
        let mailFrom: String
        let rcptTos: [String]
        /// The user that authenticated, if any.
        let login: String?
        /// Decoded (RFC 2047 words joined).
        let subject: String
        let headers: [String: String]
        /// Decoded (base64 or not), with "\n" line endings.
        let body: String
        let raw: String
    }

    struct ReceiverError: Error, CustomStringConvertible {
        let description: String
    }

    let port: Int
    private let directory: URL
    private let process: ChildProcess

    /// The Python with aiosmtpd: `$BILLSYNC_PYTHON_ENV/bin/python`, else the tests' Python.
    static var python: String {
        if let environment = ProcessInfo.processInfo.environment["BILLSYNC_PYTHON_ENV"] { return environment + "/bin/python" }
        return TestRepository.python
    }

    /// Serves while `body` runs, then stops the server.
    /// - Parameters:
    ///   - temporaryFailures: how many mails to refuse first with `451` (at DATA's end).
    ///   - users: accepted logins (user → password) for AUTH PLAIN, offered without TLS.
    static func serving<T>(temporaryFailures: Int = 0, users: [String: String] = [:],
                           _ body: (SMTPReceiver) async throws -> T) async throws -> T {
        let receiver = try await SMTPReceiver(temporaryFailures: temporaryFailures, users: users)
        defer { receiver.stop() }
        return try await body(receiver)
    }

    private init(temporaryFailures: Int, users: [String: String]) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let users = String(decoding: try JSONSerialization.data(withJSONObject: users), as: UTF8.self)
        let errors = directory.appendingPathComponent("stderr")
        // The server exits when its standard input closes: it cannot outlive the test process.
        process = try ChildProcess(URL(fileURLWithPath: Self.python), arguments: ["-c", Self.script, directory.path, "\(temporaryFailures)", users],
                                   input: .pipe, output: .pipe, error: .appending(to: errors))
        let announced = await Self.firstLine(of: process.standardOutput!)
        guard let port = announced.flatMap(Int.init) else {
            process.signal(SIGTERM)
            _ = await process.wait()
            let said = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw ReceiverError(description: "aiosmtpd did not start (\(Self.python)): \(said)")
        }
        self.port = port
    }

    /// The mails accepted so far, in order.
    func mails() throws -> [Mail] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        return try files.map { try JSONDecoder().decode(Mail.self, from: Data(contentsOf: directory.appendingPathComponent($0))) }
    }

    private func stop() {
        try? process.standardInput?.close()
        process.signal(SIGTERM)
        try? FileManager.default.removeItem(at: directory)
    }

    /// The first line the server prints (its port), read off the cooperative pool: reading a
    /// pipe blocks. Nil when it exits first.
    private static func firstLine(of handle: FileHandle) async -> String? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var bytes = Data()
                while !bytes.contains(UInt8(ascii: "\n")) {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    bytes += chunk
                }
                let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first
                continuation.resume(returning: line.map { $0.trimmingCharacters(in: .whitespaces) })
            }
        }
    }

    private static let script = #"""
import asyncio, email, json, os, sys, threading
from email import policy
from aiosmtpd.smtp import SMTP, AuthResult

directory, temporary_failures, users = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])

class Handler:
    def __init__(self):
        self.refused = 0
        self.accepted = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refused < temporary_failures:
            self.refused += 1
            return "451 4.3.0 try again later"
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=policy.default)
        self.accepted += 1
        record = {
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            "login": getattr(session, "billsync_login", None),
            "subject": str(message["Subject"]),
            "headers": {name: str(value) for name, value in message.items()},
            "body": message.get_content().replace("\r\n", "\n"),
            "raw": raw.decode("utf-8", "replace"),
        }
        path = os.path.join(directory, "%04d.json" % self.accepted)
        with open(path + ".partial", "w") as file:
            json.dump(record, file)
        os.rename(path + ".partial", path)
        return "250 2.0.0 accepted"

def authenticator(server, session, envelope, mechanism, auth_data):
    login = auth_data.login.decode()
    if users.get(login) == auth_data.password.decode():
        session.billsync_login = login
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)

def exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)

async def main():
    handler = Handler()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="receiver.test", authenticator=authenticator, auth_require_tls=False),
        "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
asyncio.run(main())
"""#
}
