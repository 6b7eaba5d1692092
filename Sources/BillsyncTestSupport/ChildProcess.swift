import CSpawn
import Foundation
import Synchronization

/// A program started with `posix_spawn` and reaped by a thread of its own, for tests that run
/// billsync's executables and helper programs.
///
/// Not Foundation's `Process`: on Linux its `run()` copies each `/proc/self/fd` entry's full
/// 256-byte name out of `readdir`'s buffer, which reads past the buffer's end once the process
/// holds about 1,350 descriptors. The parallel test run holds up to 1,600 (every test's Kafka
/// clients at once), and CI crashed there in `Process.run()`. glibc's `closefrom` action closes
/// the inherited descriptors in one step instead of one action per descriptor.
public final class ChildProcess: Sendable {
    /// Where the child's standard input comes from.
    public enum Input: Sendable {
        case null
        case file(URL)
        /// A pipe whose write end is `standardInput`; the child reads end of file when it closes.
        case pipe
    }

    /// Where the child's standard output or error goes. Files are appended to, so one file can
    /// take both streams.
    public enum Output: Sendable {
        case null
        case appending(to: URL)
        /// A pipe whose read end is `standardOutput` or `standardError`.
        case pipe
    }

    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        /// The exit code, or 128 + the signal as a shell reports it.
        public var status: Int32 {
            switch self {
            case let .exited(code): code
            case let .signalled(signal): 128 + signal
            }
        }

        public var description: String {
            switch self {
            case let .exited(code): "exited with \(code)"
            case let .signalled(signal): "killed by signal \(signal)"
            }
        }
    }

    /// What a finished program printed, with how it ended.
    public struct Outcome: Sendable {
        public let termination: Termination
        public let output: Data
        public let errors: Data

        public var status: Int32 { termination.status }
        public var outputText: String { String(decoding: output, as: UTF8.self) }
        public var errorText: String { String(decoding: errors, as: UTF8.self) }
    }

    public let processIdentifier: pid_t
    /// The parent's ends of the pipes asked for (nil for any other kind of stream).
    public let standardInput: FileHandle?
    public let standardOutput: FileHandle?
    public let standardError: FileHandle?
    private let reaper: Reaper

    /// Starts `executable`. `environment` nil inherits this process's environment; `directory`
    /// nil its working directory. The child gets no other descriptor of this process, default
    /// signal dispositions and an empty signal mask, in a process group of its own.
    public init(_ executable: URL, arguments: [String] = [], environment: [String: String]? = nil, directory: URL? = nil,
                input: Input = .null, output: Output = .null, error: Output = .null) throws {
        var opened = OpenedStreams()
        defer { opened.closeChildEnds() }
        let stdin = try opened.open(input)
        let stdout = try opened.open(output, parentEndReads: true)
        let stderr = try opened.open(error, parentEndReads: true)

        var actions = posix_spawn_file_actions_t()
        try Self.check(posix_spawn_file_actions_init(&actions), "posix_spawn_file_actions_init")
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (descriptor, target) in [(stdin.child, STDIN_FILENO), (stdout.child, STDOUT_FILENO), (stderr.child, STDERR_FILENO)] {
            try Self.check(posix_spawn_file_actions_adddup2(&actions, descriptor, target), "adddup2")
        }
        try Self.check(billsync_spawn_file_actions_addclosefrom(&actions, 3), "addclosefrom")
        if let directory {
            try Self.check(billsync_spawn_file_actions_addchdir(&actions, directory.path), "addchdir")
        }

        var attributes = posix_spawnattr_t()
        try Self.check(posix_spawnattr_init(&attributes), "posix_spawnattr_init")
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        try Self.check(posix_spawnattr_setsigmask(&attributes, &noSignals), "setsigmask")
        try Self.check(posix_spawnattr_setsigdefault(&attributes, &allSignals), "setsigdefault")
        try Self.check(posix_spawnattr_setpgroup(&attributes, 0), "setpgroup")
        try Self.check(posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP)),
                       "setflags")

        let environment = environment ?? ProcessInfo.processInfo.environment
        var pid = pid_t()
        let spawned = Self.withCStrings([executable.path] + arguments) { argv in
            Self.withCStrings(environment.map { "\($0.key)=\($0.value)" }) { envp in
                posix_spawn(&pid, executable.path, &actions, &attributes, argv, envp)
            }
        }
        guard spawned == 0 else {
            opened.closeParentEnds()
            throw ChildProcessError(description: "could not start \(executable.path): \(String(cString: strerror(spawned)))")
        }
        processIdentifier = pid
        standardInput = stdin.parent
        standardOutput = stdout.parent
        standardError = stderr.parent
        reaper = Reaper(pid: pid)
    }

    /// Runs `executable` to its end with `input` on its standard input, and returns what it
    /// printed. The streams go through files, so a chatty program never blocks on a full pipe.
    public static func run(_ executable: URL, arguments: [String] = [], environment: [String: String]? = nil, directory: URL? = nil,
                           input: Data? = nil) async throws -> Outcome {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outputFile = scratch.appendingPathComponent("stdout")
        let errorFile = scratch.appendingPathComponent("stderr")
        var stdin = Input.null
        if let input {
            let inputFile = scratch.appendingPathComponent("stdin")
            try input.write(to: inputFile)
            stdin = .file(inputFile)
        }
        let child = try ChildProcess(executable, arguments: arguments, environment: environment, directory: directory, input: stdin,
                                     output: .appending(to: outputFile), error: .appending(to: errorFile))
        let termination = await child.wait()
        return Outcome(termination: termination, output: try Data(contentsOf: outputFile), errors: try Data(contentsOf: errorFile))
    }

    /// How the child ended, or nil while it runs.
    public var termination: Termination? { reaper.termination }

    public var isRunning: Bool { termination == nil }

    /// Waits until the child has exited and been reaped.
    public func wait() async -> Termination {
        await reaper.wait()
    }

    /// Sends `signal`, unless the child has been reaped already (its pid may belong to another
    /// process by then).
    public func signal(_ signal: Int32) {
        if isRunning { kill(processIdentifier, signal) }
    }

    deinit {
        // A test that failed half-way leaves no program behind.
        if isRunning { kill(processIdentifier, SIGKILL) }
    }

    private static func check(_ result: Int32, _ call: String) throws {
        guard result == 0 else { throw ChildProcessError(description: "\(call): \(String(cString: strerror(result)))") }
    }

    private static func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> T) -> T {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return body(pointers)
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
}

/// The descriptors opened for one spawn: the child's ends are closed in this process once the
/// child has its copies; the parent's ends of pipes are handed to the `ChildProcess`.
private struct OpenedStreams {
    private var childEnds: [Int32] = []
    private var parentEnds: [FileHandle] = []

    mutating func open(_ input: ChildProcess.Input) throws -> (child: Int32, parent: FileHandle?) {
        switch input {
        case .null: (try track(Self.open("/dev/null", O_RDONLY)), nil)
        case let .file(url): (try track(Self.open(url.path, O_RDONLY)), nil)
        case .pipe: try pipe(childReads: true)
        }
    }

    mutating func open(_ output: ChildProcess.Output, parentEndReads: Bool) throws -> (child: Int32, parent: FileHandle?) {
        switch output {
        case .null: (try track(Self.open("/dev/null", O_WRONLY)), nil)
        case let .appending(url): (try track(Self.open(url.path, O_WRONLY | O_CREAT | O_APPEND)), nil)
        case .pipe: try pipe(childReads: false)
        }
    }

    func closeChildEnds() {
        for descriptor in childEnds { close(descriptor) }
    }

    func closeParentEnds() {
        for handle in parentEnds { try? handle.close() }
    }

    private mutating func track(_ descriptor: Int32) -> Int32 {
        childEnds.append(descriptor)
        return descriptor
    }

    private mutating func pipe(childReads: Bool) throws -> (child: Int32, parent: FileHandle?) {
        var ends: [Int32] = [-1, -1]
        guard billsync_pipe_cloexec(&ends) == 0 else {
            throw ChildProcessError(description: "pipe2: \(String(cString: strerror(errno)))")
        }
        let (child, parent) = childReads ? (ends[0], ends[1]) : (ends[1], ends[0])
        let handle = FileHandle(fileDescriptor: parent, closeOnDealloc: true)
        parentEnds.append(handle)
        return (track(child), handle)
    }

    private static func open(_ path: String, _ flags: Int32) throws -> Int32 {
        let descriptor = Glibc.open(path, flags | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ChildProcessError(description: "\(path): \(String(cString: strerror(errno)))") }
        return descriptor
    }
}

/// Waits for the child on a thread of its own (`waitpid` blocks, so never on Swift's cooperative
/// pool) and hands the termination to whoever waits. Holds no reference to the `ChildProcess`,
/// so dropping that still kills the child.
private final class Reaper: Sendable {
    private struct State {
        var termination: ChildProcess.Termination?
        var waiters: [CheckedContinuation<ChildProcess.Termination, Never>] = []
    }

    private let state = Mutex(State())

    init(pid: pid_t) {
        let thread = Thread { [self] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
            let signal = status & 0x7f
            finish(signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal))
        }
        thread.name = "reap \(pid)"
        thread.start()
    }

    var termination: ChildProcess.Termination? { state.withLock { $0.termination } }

    func wait() async -> ChildProcess.Termination {
        await withCheckedContinuation { continuation in
            let done: ChildProcess.Termination? = state.withLock { state in
                if let termination = state.termination { return termination }
                state.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    private func finish(_ termination: ChildProcess.Termination) {
        let waiters = state.withLock { state in
            state.termination = termination
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: termination) }
    }
}
