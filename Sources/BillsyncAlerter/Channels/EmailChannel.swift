import BillsyncBlocking
import BillsyncRuntime
import Foundation

/// Mails every notification through an SMTP server (RFC 5321): greeting, EHLO, AUTH PLAIN when
/// credentials are given, MAIL FROM, RCPT TO for each recipient, DATA, QUIT. The mail itself is
/// an `SMTPMessage`; mails about one group thread together.
///
/// The conversation uses blocking sockets on a queue of its own (`BlockingWork.run`),
/// each read and write bounded by `timeout`; cancelling the task shuts the socket down.
/// A 4xx reply or a failed connection may pass later (retryable); a 5xx reply needs a person.
/// There is no STARTTLS: send through a relay on a trusted network (a cluster's mail relay).
public struct EmailChannel: AlertChannel {
    public let name: String
    let host: String
    let port: Int
    let from: String
    let to: [String]
    private let credentials: (username: String, password: String)?
    let timeout: Duration
    let clientName: String
    private let clock: WallClock

    /// - Parameters:
    ///   - host, port: the mail server (a relay: 25 or 587).
    ///   - from: the sender's address, e.g. `billsync@example.com`.
    ///   - to: the recipients' addresses.
    ///   - username, password: for AUTH PLAIN; both or neither. The password is never logged.
    ///   - timeout: how long connecting, and each read or write, may take.
    ///   - clientName: the name given in EHLO; the machine's host name by default.
    ///   - clock: the `Date` header's time.
    ///   - name: the channel's name in metrics and logs.
    public init(host: String, port: Int = 25, from: String, to: [String], username: String? = nil, password: String? = nil,
                timeout: Duration = .seconds(30), clientName: String? = nil, clock: WallClock = .system, name: String = "email") {
        self.host = host
        self.port = port
        self.from = from
        self.to = to
        if let username, let password { credentials = (username, password) } else { credentials = nil }
        self.timeout = timeout
        self.clientName = clientName ?? SMTPConnection.localHostName
        self.clock = clock
        self.name = name
    }

    /// Mail goes out at a group's first notification, at each page and at its resolution; the
    /// updates and reminders in between would fill an inbox during a large run (the chat and
    /// paging channels carry them in place).
    public func deliver(_ notification: AlertNotification) async throws {
        guard notification.status == .resolved || notification.reason == .opened || notification.reason == .grew else { return }
        let addresses = [from] + to
        guard !to.isEmpty, addresses.allSatisfy(Self.isPlainAddress) else {
            throw ChannelFailure(retryable: false, reason: "the email channel's sender or recipients are not plain addresses")
        }
        let message = SMTPMessage(notification: notification, from: from, to: to, date: clock.now, uniqueID: UUID().uuidString)
        let transaction = SMTPTransaction(from: from, to: to, credentials: credentials, clientName: clientName,
                                          data: SMTPMessage.dataSection(message.rendered()))
        let (host, port, timeout) = (host, port, timeout)
        let cancellation = SMTPCancellation()
        try await withTaskCancellationHandler {
            try await BlockingWork.run { () throws(ChannelFailure) in
                let connection = try SMTPConnection(host: host, port: port, timeout: timeout, cancellation: cancellation)
                try transaction.run(on: connection)
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// An address SMTP takes as it is: ASCII (no SMTPUTF8 here), no spaces, brackets or line
    /// breaks, one "@".
    static func isPlainAddress(_ address: String) -> Bool {
        address.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f } && address.filter { $0 == "@" }.count == 1
            && !address.contains { $0.isWhitespace || $0.isNewline || "<>()[],;:\"\\".contains($0) }
    }
}

/// The commands of one mail, in order, judged reply by reply.
struct SMTPTransaction: Sendable {
    let from: String
    let to: [String]
    let credentials: (username: String, password: String)?
    let clientName: String
    /// The dot-stuffed message with its terminating line.
    let data: String

    func run(on connection: SMTPConnection) throws(ChannelFailure) {
        try expect(connection.reply(), 220, after: "connecting")
        try connection.write("EHLO \(clientName)\r\n")
        let greeting = try connection.reply()
        try expect(greeting, 250, after: "EHLO")
        if let credentials {
            let offersPlain = greeting.lines.dropFirst().contains { line in
                let words = line.uppercased().split(separator: " ")
                return words.first == "AUTH" && words.contains("PLAIN")
            }
            guard offersPlain else {
                throw ChannelFailure(retryable: false, reason: "the mail server does not offer AUTH PLAIN (this client has no STARTTLS)")
            }
            let token = Data("\0\(credentials.username)\0\(credentials.password)".utf8).base64EncodedString()
            try connection.write("AUTH PLAIN \(token)\r\n")
            try expect(connection.reply(), 235, after: "AUTH")
        }
        try connection.write("MAIL FROM:<\(from)>\r\n")
        try expect(connection.reply(), 250, after: "MAIL FROM")
        var refused: [(String, SMTPReply)] = []
        for recipient in to {
            try connection.write("RCPT TO:<\(recipient)>\r\n")
            let reply = try connection.reply()
            if reply.code == 250 || reply.code == 251 { continue }
            refused.append((recipient, reply))
        }
        // Every recipient must take it: a mail that reached some would be sent to them again
        // when the notification is retried for the others.
        if let (recipient, reply) = refused.first {
            try? connection.write("RSET\r\n")
            throw failure(reply, after: "RCPT TO \(recipient)" + (refused.count > 1 ? " (and \(refused.count - 1) more)" : ""))
        }
        try connection.write("DATA\r\n")
        try expect(connection.reply(), 354, after: "DATA")
        try connection.write(data)
        try expect(connection.reply(), 250, after: "the message")
        // The server took the mail: a failing QUIT changes nothing.
        try? connection.write("QUIT\r\n")
        _ = try? connection.reply()
    }

    private func expect(_ reply: SMTPReply, _ code: Int, after step: String) throws(ChannelFailure) {
        guard reply.code == code else { throw failure(reply, after: step) }
    }

    /// 4xx: the server says try again later; 5xx (or a reply that makes no sense here): a person must look.
    private func failure(_ reply: SMTPReply, after step: String) -> ChannelFailure {
        // The reply's text is quoted only up to its first long token: a server that echoes the
        // AUTH line would otherwise put the password (base64) into logs and the alerter's state.
        let words = reply.text.split(separator: " ")
        let quoted = words.prefix { $0.count < 16 }.prefix(12).joined(separator: " ")
        return ChannelFailure(retryable: (400..<500).contains(reply.code),
                              reason: "the mail server answered \(step) with \(reply.code) \(quoted)")
    }
}
