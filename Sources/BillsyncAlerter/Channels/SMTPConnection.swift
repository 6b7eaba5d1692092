#if canImport(Glibc)
import BillsyncBlocking
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

/// One reply of an SMTP server: its code and text lines (RFC 5321 §4.2).
struct SMTPReply: Sendable {
    let code: Int
    let lines: [String]

    var text: String { lines.joined(separator: " / ") }
}

/// A TCP connection to a mail server with blocking reads and writes, each bounded by a timeout.
/// Its calls block, so they run only inside `BlockingWork.run`, never on Swift's
/// cooperative pool (two threads here: one slow mail server would stall half the process).
///
/// Every failure is a `ChannelFailure`: a socket error, a timeout or a closed connection may
/// pass later (retryable); what the server answers is judged by the caller.
final class SMTPConnection {
    private let fd: Int32
    private let cancellation: SMTPCancellation
    private var buffer: [UInt8] = []

    /// Connects to `host:port` (a name or an address; every address it resolves to is tried).
    init(host: String, port: Int, timeout: Duration, cancellation: SMTPCancellation) throws(ChannelFailure) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var found: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &found)
        guard resolved == 0, let first = found else {
            throw ChannelFailure(retryable: true, reason: "could not resolve the mail server's host")
        }
        defer { freeaddrinfo(first) }
        var lastError: Int32 = 0
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            candidate = address.pointee.ai_next
            let descriptor = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
            guard descriptor >= 0 else { lastError = errno; continue }
            Self.setTimeout(descriptor, timeout)
            #if canImport(Darwin)
            var one: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            // Registered before connecting, so a cancellation meanwhile shuts this socket down.
            guard cancellation.register(descriptor) else {
                close(descriptor)
                throw ChannelFailure(retryable: true, reason: "cancelled")
            }
            // SO_SNDTIMEO bounds a blocking connect on Linux.
            if connect(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 {
                fd = descriptor
                self.cancellation = cancellation
                return
            }
            lastError = errno
            cancellation.unregister()
            close(descriptor)
        }
        throw ChannelFailure(retryable: true, reason: "could not connect to the mail server (\(Self.describe(lastError)))")
    }

    deinit {
        cancellation.unregister()
        close(fd)
    }

    /// Sends `text` as is (the caller ends lines with CRLF).
    func write(_ text: String) throws(ChannelFailure) {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL)
            #else
            let flags: Int32 = 0
            #endif
            let written = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, flags) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ChannelFailure(retryable: true, reason: "sending to the mail server failed (\(Self.describe(errno)))")
            }
            sent += written
        }
    }

    /// Reads one reply: continuation lines (`250-…`) up to the last (`250 …`).
    func reply() throws(ChannelFailure) -> SMTPReply {
        var lines: [String] = []
        while true {
            let line = try readLine()
            let digits = line.prefix(3)
            guard digits.count == 3, let code = Int(digits) else {
                throw ChannelFailure(retryable: true, reason: "the mail server's reply is not SMTP")
            }
            lines.append(String(line.dropFirst(4)))
            if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] != "-" {
                return SMTPReply(code: code, lines: lines)
            }
        }
    }

    private func readLine() throws(ChannelFailure) -> String {
        while true {
            if let end = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[..<end])
                buffer.removeSubrange(...end)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            // RFC 5321 allows 512 octets a reply line; anything far longer is not a mail server.
            guard buffer.count < 65_536 else {
                throw ChannelFailure(retryable: true, reason: "the mail server's reply line is too long")
            }
            var chunk = [UInt8](repeating: 0, count: 4_096)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer += chunk[..<count]
            } else if count == 0 {
                throw ChannelFailure(retryable: true, reason: "the mail server closed the connection")
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                throw ChannelFailure(retryable: true, reason: "the mail server did not answer in time")
            } else if errno != EINTR {
                throw ChannelFailure(retryable: true, reason: "reading from the mail server failed (\(Self.describe(errno)))")
            }
        }
    }

    private static func setTimeout(_ descriptor: Int32, _ timeout: Duration) {
        let seconds = max(timeout, .milliseconds(1)).components
        var value = timeval(tv_sec: Int(seconds.seconds), tv_usec: .init(seconds.attoseconds / 1_000_000_000_000))
        let size = socklen_t(MemoryLayout<timeval>.size)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &value, size)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &value, size)
    }

    /// The machine's name for EHLO, read without a DNS lookup.
    static var localHostName: String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
        let text = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.isEmpty ? "localhost" : text
    }

    static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

}

/// The bridge between a task's cancellation and a blocking SMTP conversation: cancelling shuts
/// the registered socket down, so a read or write that is waiting returns at once instead of
/// at its timeout. The lock keeps a shutdown from reaching a descriptor already closed (and
/// perhaps reused by another connection).
final class SMTPCancellation: Sendable {
    private let state = Mutex<(descriptor: Int32?, cancelled: Bool)>((nil, false))

    init() {}

    /// Records the socket to shut down; false when cancellation came first.
    func register(_ descriptor: Int32) -> Bool {
        state.withLock { state in
            guard !state.cancelled else { return false }
            state.descriptor = descriptor
            return true
        }
    }

    /// Forgets the socket; called before it is closed.
    func unregister() {
        state.withLock { $0.descriptor = nil }
    }

    func cancel() {
        state.withLock { state in
            state.cancelled = true
            if let descriptor = state.descriptor { shutdown(descriptor, Int32(SHUT_RDWR)) }
        }
    }
}
