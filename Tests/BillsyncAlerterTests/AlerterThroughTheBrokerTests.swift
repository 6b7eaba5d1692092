import BillsyncAlerter
import BillsyncContracts
import BillsyncKafka
import BillsyncOperations
import BillsyncTestSupport
import BillsyncTopics
import Foundation
import Testing

/// The alerter on the real broker, its channels on real local HTTP receivers, its time on a
/// manual clock: what arrives at the receivers is counted there.
@Suite("The alerter tells the receivers exactly what broke, once, through the broker", .serialized)
struct AlerterThroughTheBrokerTests {
    func notifications(_ receiver: LocalReceiver) throws -> [[String: Any]] { try receiver.requests.map { try $0.json() } }

    @Test("dead letters become one grouped notification after group_wait; growth while they flow is an update on the same incident; growth after the group settled pages again; resolved follows on every channel")
    func groupedGrowingResolved() async throws {
        let rig = try await AlerterRig.make()
        let webhook = LocalReceiver()
        let pager = LocalReceiver(thenAnswering: .status(202))
        try await webhook.serving { webhookURL in
            try await pager.serving { pagerURL in
                let channels: [any AlertChannel] = [
                    WebhookChannel(url: webhookURL.appendingPathComponent("hook")),
                    PagerDutyChannel(routingKey: "routing-key-0123456789abcdef0123", eventsURL: pagerURL.appendingPathComponent("v2/enqueue"),
                                     source: "billsync tests"),
                ]
                try await rig.running(channels: channels) { service, engine in
                    try await rig.publish(try rig.deadLetters(5))
                    await service.evaluateOnce()
                    #expect(webhook.count == 0, "nothing before group_wait")
                    rig.manual.advance(by: .seconds(31))
                    await service.evaluateOnce()
                    let opened = try #require(try notifications(webhook).last)
                    #expect(webhook.count == 1)
                    #expect(opened["reason"] as? String == "opened")
                    #expect(opened["count"] as? Int == 5)
                    #expect((opened["title"] as? String)?.hasPrefix("5 records failed at the loader with STRING_TOO_LONG on Contact.MailingStreet") == true)
                    #expect((opened["examples"] as? [String])?.count == 3)
                    #expect(pager.count == 1)

                    // Five more while the run flows: doubled, but no page; after group_interval an
                    // update, which PagerDuty folds into the open incident (the same dedup key).
                    try await rig.publish(try rig.deadLetters(5, from: 5))
                    await service.evaluateOnce()
                    #expect(webhook.count == 1)
                    rig.manual.advance(by: .seconds(301))
                    await service.evaluateOnce()
                    #expect(webhook.count == 2)
                    #expect(try notifications(webhook).last?["reason"] as? String == "updated")
                    #expect(try notifications(webhook).last?["count"] as? Int == 10)
                    let update = try pager.requests.last!.json()
                    #expect(pager.count == 2 && update["event_action"] as? String == "trigger")
                    #expect((update["dedup_key"] as? String)?.contains("#") == false)

                    // Quiet for `settle` (ten minutes): settled. Ten more doubles the paged count
                    // again: news, a new page with a new incident.
                    rig.manual.advance(by: .seconds(601))
                    try await rig.publish(try rig.deadLetters(10, from: 10))
                    await service.evaluateOnce()
                    #expect(webhook.count == 3)
                    #expect(try notifications(webhook).last?["reason"] as? String == "grew")
                    #expect(try notifications(webhook).last?["count"] as? Int == 20)
                    let page = try pager.requests.last!.json()
                    #expect(page["event_action"] as? String == "trigger")
                    #expect((page["dedup_key"] as? String)?.hasSuffix("#2") == true)

                    // The window passes without a new dead letter: resolved, on every channel.
                    rig.manual.advance(by: .seconds(2 * 3_600))
                    await service.evaluateOnce()
                    #expect(webhook.count == 4)
                    #expect(try notifications(webhook).last?["status"] as? String == "resolved")
                    let resolves = try pager.requests.dropFirst(3).map { try $0.json() }
                    #expect(resolves.map { $0["event_action"] as? String } == ["resolve", "resolve"])
                    #expect(await engine.pendingDeliveries == 0)
                }
                let published = try await rig.alertsPublished()
                #expect(published.map(\.status) == [.firing, .firing, .firing, .resolved])
                #expect(Set(published.map(\.dedupeKey)).count == 1)
            }
        }
    }

    @Test("a silence holds a matching group back; a replay in progress annotates instead of paging")
    func silenceAndReplay() async throws {
        let rig = try await AlerterRig.make()
        let webhook = LocalReceiver()
        let pager = LocalReceiver(thenAnswering: .status(202))
        try await webhook.serving { webhookURL in
            try await pager.serving { pagerURL in
                let channels: [any AlertChannel] = [
                    WebhookChannel(url: webhookURL.appendingPathComponent("hook")),
                    PagerDutyChannel(routingKey: "routing-key-0123456789abcdef0123", eventsURL: pagerURL.appendingPathComponent("v2/enqueue"), source: "billsync tests"),
                ]
                try await rig.running(channels: channels) { service, engine in
                    let silence = Silence(matchers: [.init(label: "code", value: "STRING_TOO_LONG")], startsAt: Timestamp(rig.clock.now),
                                          endsAt: Timestamp(rig.clock.now.addingTimeInterval(3_600)), createdBy: "ops", comment: "known, fixing")
                    let replay = OperatorActivity(kind: .replay, stages: ["loader"], startedAt: Timestamp(rig.clock.now),
                                                  startedBy: "ops@example.com", description: "backfill of November")
                    try await rig.publish([
                        try rig.message(silence, topic: rig.catalog.silences, key: silence.silenceId.uuidString),
                        try rig.message(replay, topic: rig.catalog.operatorActivity, key: replay.activityId.uuidString),
                    ])
                    // The follower has them once the engine shows them: observed, not waited for.
                    let known = await eventually(timeout: .seconds(30)) {
                        let seen = await engine.observations
                        return !seen.silences.isEmpty && !seen.activities.isEmpty
                    }
                    #expect(known)
                    try await rig.publish(try rig.deadLetters(3) + rig.deadLetters(2, from: 100, code: "INVALID_EMAIL_ADDRESS"))
                    await service.evaluateOnce()
                    rig.manual.advance(by: .seconds(31))
                    await service.evaluateOnce()
                    // Only the unsilenced group, annotated, and no page.
                    let told = try notifications(webhook)
                    #expect(told.count == 1)
                    #expect((told.first?["title"] as? String)?.contains("INVALID_EMAIL_ADDRESS") == true)
                    #expect((told.first?["annotation"] as? String)?.hasPrefix("during replay started by ops@example.com") == true)
                    #expect(pager.count == 0)
                    #expect(await engine.openGroups.count == 2, "the silenced group is still open, only held back")
                }
            }
        }
    }

    @Test("a notification a channel refused survives a restart of the alerter and is delivered by the next one, once")
    func pendingSurvivesRestart() async throws {
        let rig = try await AlerterRig.make()
        let webhook = LocalReceiver(answering: [.status(500)])
        try await webhook.serving { url in
            try await rig.running(channels: [WebhookChannel(url: url.appendingPathComponent("hook"))]) { service, engine in
                try await rig.publish(try rig.deadLetters(4))
                await service.evaluateOnce()
                rig.manual.advance(by: .seconds(31))
                await service.evaluateOnce()
                #expect(webhook.count == 1)
                #expect(await engine.pendingDeliveries == 1)
            }
            // A new process: its memory is only what the state topic kept. The clock has not moved,
            // so a group it had to open afresh would still be waiting out group_wait: a delivery
            // now can only be the pending one it took back.
            try await rig.running(channels: [WebhookChannel(url: url.appendingPathComponent("hook"))]) { service, engine in
                await service.evaluateOnce()
                #expect(await engine.pendingDeliveries == 0)
                #expect(await engine.openGroups.values.map(\.phase) == [.firing])
            }
            #expect(webhook.count == 2)
            let delivered = try webhook.requests[1].json()
            #expect(delivered["reason"] as? String == "opened")
            #expect(delivered["count"] as? Int == 4)
        }
    }

    @Test("a missed schedule raises a staleness alert, and a worker that stopped reporting is named")
    func stalenessAndMissingWorker() async throws {
        let rig = try await AlerterRig.make()
        let webhook = LocalReceiver()
        try await webhook.serving { url in
            try await rig.running(channels: [WebhookChannel(url: url.appendingPathComponent("hook"))]) { service, engine in
                let result = CRMLoadResult(object: "Account", externalIdField: "Billing_Customer_Id__c", externalId: "0000000001",
                                           sink: .salesforce, outcome: .updated, recordId: "001000000000001")
                let heartbeat = WorkerStatus(worker: "loader-7f9c", stage: "loader", group: rig.catalog.group(of: .loader), state: .running,
                                             reportedAt: Timestamp(rig.clock.now), intervalSeconds: 15, handled: 1, partitions: [])
                try await rig.publish([
                    try rig.message(result, topic: rig.catalog.loadResults, key: "0000000001"),
                    try rig.message(heartbeat, topic: rig.catalog.workers, key: heartbeat.worker),
                ])
                #expect(await eventually(timeout: .seconds(30)) { await !engine.observations.workers.isEmpty })
                await service.evaluateOnce()
                // Seven hours without a load (the sync runs every 4) and without a heartbeat.
                rig.manual.advance(by: .seconds(7 * 3_600))
                await service.evaluateOnce()
                rig.manual.advance(by: .seconds(31))
                await service.evaluateOnce()
                let told = try notifications(webhook)
                let kinds = Set(told.compactMap { $0["kind"] as? String })
                #expect(kinds == ["staleness", "worker-missing"])
                let stale = told.first { $0["kind"] as? String == "staleness" }
                #expect((stale?["title"] as? String)?.hasPrefix("No Account loaded for 7 hours") == true)
                let missing = told.first { $0["kind"] as? String == "worker-missing" }
                #expect((missing?["examples"] as? [String]) == ["loader-7f9c"])
            }
        }
    }

    @Test("a finished run whose records are not all accounted for raises a discrepancy naming the numbers")
    func discrepancy() async throws {
        let rig = try await AlerterRig.make()
        let webhook = LocalReceiver()
        // Three accounts extracted; no stage ever handles them.
        var raw: [KafkaProducerMessage] = []
        for index in 1...3 {
            let customer = String(format: "%010d", index)
            let account = MessageEnvelope(source: MessageSource(system: .csvDrop, name: "nightly"), businessKey: customer, occurredAt: nil,
                                          extractedAt: Timestamp(rig.clock.now), payload: BillingAccount(customerId: customer, accountId: "ACC-\(customer)", name: "Customer \(index)",
                                                                  accountType: .residential, status: .active))
            raw.append(KafkaProducerMessage(topic: rig.catalog.rawTopic("account"), key: Array(customer.utf8),
                                            value: try AlerterRig.contracts.encode(account)))
        }
        let run = SyncReport(stage: "extractor", source: "nightly", startedAt: Timestamp(rig.clock.now), finishedAt: Timestamp(rig.clock.now),
                             status: .succeeded, counts: .init(read: 3, published: 3, rejected: 0))
        let accounting = RunAccounting(connection: TestKafka.connection, catalog: rig.catalog, stages: [.transformer],
                                       objects: ["billing-account": "Account"], logger: TestKafka.logger)
        try await webhook.serving { url in
            try await rig.running(channels: [WebhookChannel(url: url.appendingPathComponent("hook"))], accounting: accounting) { service, _ in
                try await rig.publish(raw + [try rig.message(run, topic: rig.catalog.reports, key: "nightly")])
                await service.evaluateOnce()
                rig.manual.advance(by: .seconds(601))
                await service.evaluateOnce()  // the run is due: accounted, found short, but maybe still moving
                rig.manual.advance(by: .seconds(600))
                await service.evaluateOnce()  // checked again: not one more handled, so stuck
                rig.manual.advance(by: .seconds(31))
                await service.evaluateOnce()  // past group_wait: told
                let told = try #require(try notifications(webhook).first)
                #expect(told["kind"] as? String == "discrepancy")
                #expect(told["title"] as? String == "nightly run: Account → Salesforce: 3 extracted ≠ 0 loaded + 0 suppressed + 0 dead-lettered")
                #expect((told["summary"] as? String)?.contains("3 not yet handled by their stage") == true)
            }
        }
    }

    @Test("heartbeats through the broker tell a stalled stage (offsets still, lag waiting) apart from a slow one (offsets moving, lag growing)")
    func stalledAndSlow() async throws {
        let rig = try await AlerterRig.make()
        let webhook = LocalReceiver()
        try await webhook.serving { url in
            try await rig.running(channels: [WebhookChannel(url: url.appendingPathComponent("hook"))]) { service, engine in
                for minute in 0...18 {
                    if minute > 0 { rig.manual.advance(by: .seconds(60)) }
                    let now = Timestamp(rig.clock.now)
                    func beat(_ worker: String, _ stage: String, position: Int64, lag: Int64) -> WorkerStatus {
                        WorkerStatus(worker: worker, stage: stage, group: rig.catalog.group(of: Stage(stage)), state: .running, reportedAt: now,
                                     intervalSeconds: 60, handled: Int(position),
                                     partitions: [.init(topic: rig.catalog.upsertCommands, partition: 0, position: position, lagMessages: lag, lagSeconds: 5)])
                    }
                    let stuck = beat("loader-1", "loader", position: 500, lag: 120)
                    let slow = beat("transformer-1", "transformer", position: 1_000 + Int64(minute) * 50, lag: 200 + Int64(minute) * 30)
                    try await rig.publish([try rig.message(stuck, topic: rig.catalog.workers, key: stuck.worker),
                                           try rig.message(slow, topic: rig.catalog.workers, key: slow.worker)])
                    // Each round judges this minute's heartbeats: seen first, then evaluated.
                    let seen = await eventually(timeout: .seconds(30)) {
                        let workers = await engine.observations.workers
                        return workers["loader-1"]?.reportedAt == now && workers["transformer-1"]?.reportedAt == now
                    }
                    #expect(seen)
                    await service.evaluateOnce()
                }
                let told = try notifications(webhook)
                #expect(told.map { $0["groupKey"] as? String } == ["stalled/loader", "growing/transformer"])
                #expect((told.first?["title"] as? String)?.hasPrefix("The loader is stalled: no progress for 10 minutes with 120 messages waiting") == true)
                #expect(told.first?["severity"] as? String == "critical")
                #expect((told.last?["title"] as? String)?.hasPrefix("The transformer is falling behind: lag grew from") == true)
                #expect(told.last?["severity"] as? String == "warning")
            }
        }
    }

    @Test("a notification its channel refuses for good is dropped and counted, and does not hold back the group's later ones")
    func refusedIsDropped() async throws {
        let rig = try await AlerterRig.make()
        let webhook = LocalReceiver(answering: [.status(410)])
        try await webhook.serving { url in
            try await rig.running(channels: [WebhookChannel(url: url.appendingPathComponent("hook"))]) { service, engine in
                try await rig.publish(try rig.deadLetters(2))
                await service.evaluateOnce()
                rig.manual.advance(by: .seconds(31))
                await service.evaluateOnce()
                #expect(webhook.count == 1)
                #expect(await engine.pendingDeliveries == 0)
                rig.manual.advance(by: .seconds(2 * 3_600))
                await service.evaluateOnce()
                #expect(webhook.count == 2)
                #expect(try notifications(webhook).last?["status"] as? String == "resolved")
            }
        }
    }
}
