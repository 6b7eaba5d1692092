import BillsyncTestSupport
import Foundation
import Testing

/// The tests' way of starting programs, which must hold where Foundation's `Process` crashed:
/// in a process with more than 1,350 open descriptors.
@Suite("A child process starts from a crowded parent with only its three streams, and reports how it ended")
struct ChildProcessTests {
    static let shell = URL(fileURLWithPath: "/bin/sh")

    @Test("with 1,400 descriptors open in the parent, the child starts and holds only standard input, output and error")
    func inheritsOnlyItsStreams() async throws {
        let crowd = (0..<1_400).map { _ in open("/dev/null", O_RDONLY) }
        defer { crowd.forEach { close($0) } }
        #expect(crowd.allSatisfy { $0 >= 0 })
        // `ls` opens the directory it lists: that is the fourth entry.
        let outcome = try await ChildProcess.run(Self.shell, arguments: ["-c", "ls /proc/self/fd | wc -l; exit 3"])
        #expect(outcome.termination == .exited(3))
        #expect(outcome.outputText.trimmingCharacters(in: .whitespacesAndNewlines) == "4")
    }

    @Test("input, environment and working directory reach the child; its two streams come back apart")
    func streamsEnvironmentAndDirectory() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome = try await ChildProcess.run(Self.shell, arguments: ["-c", #"tr a-z A-Z; echo "$GREETING"; pwd; echo oops >&2"#],
                                                 environment: ["GREETING": "hello"], directory: directory, input: Data("quiet\n".utf8))
        #expect(outcome.status == 0)
        #expect(outcome.outputText == "QUIET\nhello\n\(directory.resolvingSymlinksInPath().path)\n")
        #expect(outcome.errorText == "oops\n")
    }

    @Test("a signalled child reports the signal, and a signal the parent ignores is not ignored by the child")
    func signalled() async throws {
        // SIGUSR2: no part of the test process uses it, so ignoring it here disturbs no other test.
        let previous = Glibc.signal(SIGUSR2, SIG_IGN)
        defer { Glibc.signal(SIGUSR2, previous) }
        // The child waits on its standard input, which stays open until the child is gone.
        let child = try ChildProcess(Self.shell, arguments: ["-c", "read line"], input: .pipe)
        #expect(child.isRunning)
        child.signal(SIGUSR2)
        #expect(await child.wait() == .signalled(SIGUSR2))
        #expect(child.termination?.status == 128 + SIGUSR2)
    }

    @Test("a program that does not exist is an error naming it, not a child that exits 127")
    func missingProgram() throws {
        let error = #expect(throws: ChildProcessError.self) {
            _ = try ChildProcess(URL(fileURLWithPath: "/nonexistent/billsync-nothing"))
        }
        #expect(error?.description.contains("/nonexistent/billsync-nothing") == true)
    }
}
