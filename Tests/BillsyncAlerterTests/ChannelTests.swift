import BillsyncAlerter
import BillsyncTestSupport
import Foundation
import Logging
import Testing

/// What each HTTP channel sends, read back on a real local receiver.
@Suite("Notification channels send what their receivers expect, within the receivers' limits", .timeLimit(.minutes(1)))
struct ChannelTests {
    @Test("The webhook receives every field of the notification as a version 1 JSON document")
    func webhookDocument() async throws {
        let receiver = LocalReceiver()
        try await receiver.serving { base in
            try await WebhookChannel(url: base.appendingPathComponent("hooks/billsync")).deliver(SampleNotification.make())
        }
        #expect(receiver.requests.map(\.path) == ["/hooks/billsync"])
        let document = try #require(receiver.requests.first).json()
        #expect(Set(document.keys) == ["version", "status", "reason", "groupKey", "severity", "kind", "title", "summary",
                                       "stage", "topic", "count", "firstSeenAt", "lastSeenAt", "examples", "command",
                                       "runbook", "annotation", "labels", "details", "pageCount"])
        #expect(document["version"] as? Int == 1)
        #expect(document["status"] as? String == "firing")
        #expect(document["reason"] as? String == "opened")
        #expect(document["groupKey"] as? String == SampleNotification.groupKey)
        #expect(document["severity"] as? String == "critical")
        #expect(document["kind"] as? String == "load-failures")
        #expect(document["title"] as? String == SampleNotification.title)
        #expect(document["count"] as? Int == 412)
        #expect(document["firstSeenAt"] as? String == "2026-03-01T12:00:00Z")
        #expect(document["lastSeenAt"] as? String == "2026-03-01T12:10:00Z")
        #expect(document["examples"] as? [String] == ["ACC-1001", "ACC-1002", "ACC-1003"])
        #expect(document["command"] as? String == SampleNotification.command)
        #expect(document["annotation"] is NSNull)
        #expect((document["labels"] as? [String: String])?["code"] == "STRING_TOO_LONG")
        #expect(document["details"] as? [String: String] == ["object": "Contact", "field": "MailingStreet"])
        #expect(document["pageCount"] as? Int == 1)
    }

    @Test("A Slack message with a 10,000-character summary stays within Block Kit's limits and keeps a text fallback")
    func slackLimits() async throws {
        let summary = String(repeating: "Street <too> long & refused. ", count: 345)
        #expect(summary.count > 10_000)
        let notification = SampleNotification.make(title: String(repeating: "T", count: 400), summary: summary)
        let receiver = LocalReceiver()
        try await receiver.serving { base in
            try await SlackChannel(webhookURL: base.appendingPathComponent("services/T0/B0/x")).deliver(notification)
        }
        let message = try #require(receiver.requests.first).json()
        let blocks = try #require(message["blocks"] as? [[String: Any]])
        #expect(!blocks.isEmpty && blocks.count <= 50)
        let fallback = try #require(message["text"] as? String)
        #expect(!fallback.isEmpty && fallback.count <= 3_000)
        let header = try #require(blocks.first { $0["type"] as? String == "header" })
        let headerText = try #require((header["text"] as? [String: Any])?["text"] as? String)
        #expect(headerText.count <= 150 && headerText.hasPrefix("🚨 TTT") && headerText.hasSuffix("…"))
        let sections = blocks.compactMap { ($0["text"] as? [String: Any])?["text"] as? String }
        #expect(sections.allSatisfy { $0.count <= 3_000 && $0.utf16.count <= 3_000 })
        let summarySection = try #require(sections.first { $0.hasPrefix("Street") })
        #expect(summarySection.hasSuffix("…"))
        #expect(summarySection.contains("&lt;too&gt; long &amp; refused"), "Slack's control characters are escaped")
        let fields = blocks.flatMap { ($0["fields"] as? [[String: Any]]) ?? [] }.compactMap { $0["text"] as? String }
        #expect(fields.allSatisfy { $0.count <= 2_000 })
    }

    @Test("A firing Slack message shows the severity, title, summary, figures, examples, repair command and group key")
    func slackFiring() async throws {
        let receiver = LocalReceiver()
        try await receiver.serving { base in
            try await SlackChannel(webhookURL: base).deliver(SampleNotification.make(severity: .warning))
        }
        let message = try #require(receiver.requests.first).json()
        let encoded = String(decoding: try #require(receiver.requests.first).body, as: UTF8.self)
        let blocks = try #require(message["blocks"] as? [[String: Any]])
        #expect(blocks.first?["type"] as? String == "header")
        #expect(encoded.contains("⚠️ \(SampleNotification.title)"))
        #expect(encoded.contains("Salesforce refused the street"))
        #expect(encoded.contains("*Records*\\n412"))
        #expect(encoded.contains("*Stage*\\nloader"))
        #expect(encoded.contains("ACC-1002"))
        #expect(encoded.contains("```\(SampleNotification.command)```"))
        #expect(encoded.contains("group `\(SampleNotification.groupKey)`"))
        #expect(message["text"] as? String == "⚠️ \(SampleNotification.title) (412 so far)")
    }

    @Test("A resolved group reaches Slack as a short resolved message")
    func slackResolved() async throws {
        let receiver = LocalReceiver()
        try await receiver.serving { base in
            try await SlackChannel(webhookURL: base).deliver(SampleNotification.make(status: .resolved, reason: .resolved))
        }
        let message = try #require(receiver.requests.first).json()
        #expect(message["text"] as? String == "✅ Resolved: \(SampleNotification.title)")
        #expect((message["blocks"] as? [[String: Any]])?.count == 2)
    }

    @Test("A PagerDuty trigger carries the Events API v2 payload, its summary cut to 1,024 characters")
    func pagerDutyTrigger() async throws {
        let receiver = LocalReceiver(thenAnswering: .status(202))
        let longTitle = String(repeating: "412 records failed ", count: 100)
        try await receiver.serving { base in
            let channel = PagerDutyChannel(routingKey: "R0UT1NGKEY", eventsURL: base.appendingPathComponent("v2/enqueue"),
                                           source: "billsync-prod")
            try await channel.deliver(SampleNotification.make(title: longTitle))
        }
        let event = try #require(receiver.requests.first).json()
        #expect(Set(event.keys) == ["routing_key", "event_action", "dedup_key", "payload", "links"])
        #expect(event["routing_key"] as? String == "R0UT1NGKEY")
        #expect(event["event_action"] as? String == "trigger")
        #expect(event["dedup_key"] as? String == SampleNotification.groupKey)
        let payload = try #require(event["payload"] as? [String: Any])
        let summary = try #require(payload["summary"] as? String)
        #expect(summary.count == 1_024 && summary.hasPrefix("412 records failed") && summary.hasSuffix("…"))
        #expect(payload["source"] as? String == "billsync-prod")
        #expect(payload["severity"] as? String == "critical")
        #expect(payload["timestamp"] as? String == "2026-03-01T12:10:00Z")
        #expect(payload["component"] as? String == "loader")
        #expect(payload["group"] as? String == "load-failures")
        #expect(payload["class"] as? String == "STRING_TOO_LONG")
        let details = try #require(payload["custom_details"] as? [String: Any])
        #expect(details["count"] as? Int == 412)
        #expect(details["examples"] as? [String] == ["ACC-1001", "ACC-1002", "ACC-1003"])
        #expect(details["command"] as? String == SampleNotification.command)
        #expect(details["firstSeenAt"] as? String == "2026-03-01T12:00:00Z")
        #expect(details["object"] as? String == "Contact")
    }

    @Test("A 400-character group key gives a dedup key of at most 255 characters, the same for every page-1 event of the group and different from another group's")
    func pagerDutyLongKey() async throws {
        let shared = String(repeating: "dead-letters|loader|INVALID_FIELD|", count: 9)
        let groupA = String((shared + String(repeating: "a", count: 400)).prefix(400))
        let groupB = String((shared + String(repeating: "b", count: 400)).prefix(400))
        let receiver = LocalReceiver(thenAnswering: .status(202))
        try await receiver.serving { base in
            let channel = PagerDutyChannel(routingKey: "R0UT1NGKEY", eventsURL: base, source: "billsync")
            try await channel.deliver(SampleNotification.make(groupKey: groupA, count: 10))
            try await channel.deliver(SampleNotification.make(groupKey: groupA, count: 11))
            try await channel.deliver(SampleNotification.make(groupKey: groupB))
            try await channel.deliver(SampleNotification.make(groupKey: groupA, reason: .grew, pageCount: 2))
        }
        let keys = try receiver.requests.map { try #require($0.json()["dedup_key"] as? String) }
        #expect(keys.count == 4)
        #expect(keys.allSatisfy { $0.count <= 255 && $0.utf8.count <= 255 })
        #expect(keys[0] == keys[1])
        #expect(keys[0] != keys[2])
        #expect(keys[3] == keys[0] + "#2")
    }

    @Test("A group that grew pages again as a new incident, <groupKey>#2")
    func pagerDutyGrew() async throws {
        let receiver = LocalReceiver(thenAnswering: .status(202))
        try await receiver.serving { base in
            let channel = PagerDutyChannel(routingKey: "R0UT1NGKEY", eventsURL: base, source: "billsync")
            try await channel.deliver(SampleNotification.make(reason: .grew, count: 900, pageCount: 2))
        }
        let event = try #require(receiver.requests.first).json()
        #expect(event["event_action"] as? String == "trigger")
        #expect(event["dedup_key"] as? String == SampleNotification.groupKey + "#2")
    }

    @Test("Resolving a group that paged twice resolves both incidents, with nothing but the key, the action and the dedup key")
    func pagerDutyResolve() async throws {
        let receiver = LocalReceiver(thenAnswering: .status(202))
        try await receiver.serving { base in
            let channel = PagerDutyChannel(routingKey: "R0UT1NGKEY", eventsURL: base, source: "billsync")
            try await channel.deliver(SampleNotification.make(status: .resolved, reason: .resolved, pageCount: 2))
        }
        let events = try receiver.requests.map { try $0.json() }
        #expect(events.map { $0["dedup_key"] as? String } == [SampleNotification.groupKey, SampleNotification.groupKey + "#2"])
        #expect(events.allSatisfy { $0["event_action"] as? String == "resolve" })
        #expect(events.allSatisfy { Set($0.keys) == ["routing_key", "event_action", "dedup_key"] })
    }

    @Test("An update reaches PagerDuty as a trigger on the open incident's own dedup key; reminders and annotated pages reach it as nothing")
    func pagerDutyUpdatesInPlace() async throws {
        let receiver = LocalReceiver(thenAnswering: .status(202))
        try await receiver.serving { base in
            let channel = PagerDutyChannel(routingKey: "R0UT1NGKEY", eventsURL: base, source: "billsync")
            try await channel.deliver(SampleNotification.make(reason: .updated, count: 480))
            try await channel.deliver(SampleNotification.make(reason: .reminder))
            try await channel.deliver(SampleNotification.make(reason: .opened, annotation: "redrive running (ops-42)"))
            try await channel.deliver(SampleNotification.make(status: .resolved, reason: .resolved))
        }
        let events = try receiver.requests.map { try $0.json() }
        #expect(events.map { $0["event_action"] as? String } == ["trigger", "resolve"])
        #expect(events.allSatisfy { $0["dedup_key"] as? String == SampleNotification.groupKey })
    }

    @Test("A Slack bot posts a group's message once, then updates that message as the count grows and when it resolves")
    func slackBotUpdatesInPlace() async throws {
        let posted = LocalReceiver.Answer(status: 200, body: #"{"ok":true,"channel":"C0OPS","ts":"1700000000.000100"}"#)
        let updated = LocalReceiver.Answer(status: 200, body: #"{"ok":true,"channel":"C0OPS","ts":"1700000000.000100"}"#)
        let receiver = LocalReceiver(answering: [posted, updated, updated])
        try await receiver.serving { base in
            let channel = SlackAPIChannel(token: "xoxb-SECRET", channel: "#billing-ops", apiURL: base)
            try await channel.deliver(SampleNotification.make(reason: .opened, count: 91))
            try await channel.deliver(SampleNotification.make(reason: .updated, count: 4_968))
            try await channel.deliver(SampleNotification.make(status: .resolved, reason: .resolved, count: 4_968))
        }
        let requests = receiver.requests
        #expect(requests.map(\.path) == ["/chat.postMessage", "/chat.update", "/chat.update"])
        let bodies = try requests.map { try $0.json() }
        #expect(bodies[0]["channel"] as? String == "#billing-ops" && bodies[0]["ts"] == nil)
        #expect(bodies[1...].allSatisfy { $0["channel"] as? String == "C0OPS" && $0["ts"] as? String == "1700000000.000100" })
        #expect((bodies[1]["text"] as? String)?.contains("4968") == true)
        #expect((bodies[2]["text"] as? String)?.hasPrefix("✅ Resolved") == true)
        #expect(requests.allSatisfy { !String(decoding: $0.body, as: UTF8.self).contains("xoxb-SECRET") })
    }

    @Test("A Slack bot whose message was deleted posts it anew; a refusal such as a revoked token is not retried and does not name the token")
    func slackBotRefusals() async throws {
        let missing = LocalReceiver.Answer(status: 200, body: #"{"ok":false,"error":"message_not_found"}"#)
        let posted = LocalReceiver.Answer(status: 200, body: #"{"ok":true,"channel":"C0OPS","ts":"2.0"}"#)
        let revoked = LocalReceiver.Answer(status: 200, body: #"{"ok":false,"error":"token_revoked"}"#)
        let receiver = LocalReceiver(answering: [posted, missing, posted, revoked])
        try await receiver.serving { base in
            let channel = SlackAPIChannel(token: "xoxb-SECRET", channel: "C0OPS", apiURL: base)
            try await channel.deliver(SampleNotification.make(reason: .opened))
            try await channel.deliver(SampleNotification.make(reason: .updated, count: 20))
            do {
                try await channel.deliver(SampleNotification.make(reason: .updated, count: 30))
                Issue.record("a revoked token was taken as delivered")
            } catch let failure as ChannelFailure {
                #expect(!failure.retryable && failure.reason.contains("token_revoked") && !failure.reason.contains("xoxb"))
            }
        }
        #expect(receiver.requests.map(\.path) == ["/chat.postMessage", "/chat.update", "/chat.postMessage", "/chat.update"])
    }

    @Test("The log channel writes one line per notification, at the severity's level while firing and info once resolved or annotated")
    func logChannel() async throws {
        let logs = CapturedLogs()
        let channel = LogChannel(logger: logs.logger())
        try await channel.deliver(SampleNotification.make(severity: .critical))
        try await channel.deliver(SampleNotification.make(severity: .warning))
        try await channel.deliver(SampleNotification.make(status: .resolved, reason: .resolved))
        try await channel.deliver(SampleNotification.make(annotation: "replay running"))
        #expect(logs.entries.map(\.level) == [.critical, .warning, .info, .info])
        let first = try #require(logs.entries.first)
        #expect(first.message.contains(SampleNotification.title))
        #expect(first.metadata["alert.group"] == "\(SampleNotification.groupKey)")
        #expect(first.metadata["alert.kind"] == "load-failures")
        #expect(first.metadata["alert.count"] == "412")
        #expect(first.metadata["billsync.stage"] == "loader")
    }
}
