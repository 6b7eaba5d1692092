import BillsyncAlerter
import BillsyncRuntime
import BillsyncTestSupport
import Foundation
import Testing

/// The email channel against a real SMTP server (aiosmtpd), each mail read back parsed.
@Suite("Email notifications reach a real SMTP server, threaded per group", .timeLimit(.minutes(1)))
struct EmailChannelTests {
    let from = "billsync@alerts.example"
    let to = ["ops@example.com", "oncall@example.com"]
    /// The Date header's time: the clock's, not the machine's.
    let clock = WallClock(ManualClock(), startingAt: SampleNotification.lastSeen)

    @Test("A firing and then a resolved mail arrive with their subjects, recipients, body, dot-stuffed lines and one thread; the updates and reminders between them send no mail")
    func firingThenResolved() async throws {
        // A line that is just "." would end DATA early unless it is dot-stuffed.
        let summary = "Salesforce refused the street.\n.\n..leading dots stay\nShorten it, then redrive."
        let mails = try await SMTPReceiver.serving { server in
            let channel = EmailChannel(host: "127.0.0.1", port: server.port, from: from, to: to, clock: clock)
            try await channel.deliver(SampleNotification.make(summary: summary))
            try await channel.deliver(SampleNotification.make(reason: .updated, count: 900))
            try await channel.deliver(SampleNotification.make(reason: .reminder, count: 900))
            try await channel.deliver(SampleNotification.make(status: .resolved, reason: .resolved,
                                                              summary: "Zürich’s records went through after the redrive."))
            return try server.mails()
        }
        try #require(mails.count == 2)
        let (firing, resolved) = (mails[0], mails[1])
        #expect(firing.mailFrom == from)
        #expect(firing.rcptTos == to)
        #expect(firing.headers["To"] == "ops@example.com, oncall@example.com")
        #expect(firing.headers["From"] == from)
        #expect(firing.subject == "[billsync FIRING] \(SampleNotification.title)")
        #expect(firing.headers["Date"] == "Sun, 01 Mar 2026 12:10:00 +0000")
        for expected in [SampleNotification.title, "Records:    412", "First seen: 2026-03-01T12:00:00Z",
                         "Last seen:  2026-03-01T12:10:00Z", "  - ACC-1003", SampleNotification.command,
                         "\n.\n..leading dots stay\n", "Group: \(SampleNotification.groupKey)"] {
            #expect(firing.body.contains(expected), "the body has \(expected)")
        }
        #expect(resolved.subject == "[billsync RESOLVED] \(SampleNotification.title)")
        #expect(resolved.body.contains("Zürich’s records went through"), "a non-ASCII body survives its encoding")
        let thread = try #require(firing.headers["References"])
        #expect(thread.hasPrefix("<billsync-group-") && thread.hasSuffix("@alerts.example>"))
        #expect(firing.headers["In-Reply-To"] == thread)
        #expect(resolved.headers["References"] == thread && resolved.headers["In-Reply-To"] == thread)
        #expect(firing.headers["Message-ID"] != nil && firing.headers["Message-ID"] != resolved.headers["Message-ID"])
        #expect(firing.headers["Message-ID"] != thread)
        #expect(firing.raw.contains("\r\n"), "lines end with CRLF")
    }

    @Test("Another group's mails start another thread, and a non-ASCII title is encoded in the subject")
    func otherGroupOtherThread() async throws {
        let mails = try await SMTPReceiver.serving { server in
            let channel = EmailChannel(host: "127.0.0.1", port: server.port, from: from, to: ["ops@example.com"], clock: clock)
            try await channel.deliver(SampleNotification.make())
            try await channel.deliver(SampleNotification.make(groupKey: "consumer-lag|transformer",
                                                              title: "Lag at the transformer: 12 000 messages, oldest 9 min (Zürich)"))
            return try server.mails()
        }
        try #require(mails.count == 2)
        #expect(mails[0].headers["References"] != mails[1].headers["References"])
        #expect(mails[1].subject == "[billsync FIRING] Lag at the transformer: 12 000 messages, oldest 9 min (Zürich)")
    }

    @Test("With credentials the channel authenticates with AUTH PLAIN; a wrong password is a failure that is not retried")
    func authentication() async throws {
        let (mails, failure) = try await SMTPReceiver.serving(users: ["alerts": "s3cret"]) { server in
            try await EmailChannel(host: "127.0.0.1", port: server.port, from: from, to: to,
                                   username: "alerts", password: "s3cret").deliver(SampleNotification.make())
            let failure = await #expect(throws: ChannelFailure.self) {
                try await EmailChannel(host: "127.0.0.1", port: server.port, from: from, to: to,
                                       username: "alerts", password: "wrong").deliver(SampleNotification.make())
            }
            return (try server.mails(), failure)
        }
        #expect(mails.map(\.login) == ["alerts"])
        #expect(failure?.retryable == false)
        #expect(failure?.reason.contains("535") == true)
        #expect(failure?.reason.contains("wrong") == false)
    }

    @Test("A 451 from the mail server is retried after the backoff and the mail then arrives once")
    func temporaryFailureIsRetried() async throws {
        let manual = ManualClock()
        let (outcome, mails) = try await SMTPReceiver.serving(temporaryFailures: 1) { server in
            let channel = EmailChannel(host: "127.0.0.1", port: server.port, from: from, to: to)
            let delivery = ChannelDelivery(clock: WallClock(manual, startingAt: SampleNotification.lastSeen),
                                           logger: CapturedLogs().logger())
            async let outcome = { () async -> DeliveryOutcome in
                let outcome = await delivery.deliver(SampleNotification.make(), to: channel)
                await manual.releaseSleepWaiters()
                return outcome
            }()
            await manual.waitForSleeps(1)
            manual.advance(by: .seconds(1))
            return (await outcome, try server.mails())
        }
        #expect(outcome == .delivered(attempts: 2))
        #expect(mails.count == 1)
    }

    @Test("A refused connection to the mail server is a retryable failure")
    func refusedConnection() async throws {
        let failure = await #expect(throws: ChannelFailure.self) {
            try await EmailChannel(host: "127.0.0.1", port: TestRepository.freePort(), from: from, to: to)
                .deliver(SampleNotification.make())
        }
        #expect(failure?.retryable == true)
        #expect(failure?.reason.contains("could not connect") == true)
    }
}
