import BillsyncAlerter
import BillsyncContracts
import Foundation
import Testing

/// The lifecycle of an alert group, stepped through hours of simulated time.
@Suite("An alert group is told once, updated, reminded, re-paged when it grows and resolved")
struct AlertLifecycleTests {
    let start = Date(timeIntervalSince1970: 1_795_000_000)
    var settings: AlertRules.Lifecycle {
        var settings = AlertRules.Lifecycle()
        settings.groupWait = .seconds(30)
        settings.groupInterval = .seconds(300)
        settings.repeatInterval = .seconds(4 * 3_600)
        settings.growthFactor = 2
        return settings
    }

    func condition(count: Int, key: String = "dead-letters/loader/STRING_TOO_LONG/Contact.MailingStreet") -> AlertCondition {
        AlertCondition(key: key, severity: .warning, kind: .deadLetters, title: "\(count) records failed", summary: "s",
                       stage: "loader", count: count, firstSeenAt: start, lastSeenAt: start,
                       labels: ["code": "STRING_TOO_LONG", "field": "Contact.MailingStreet"])
    }

    func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

    @Test("a condition that clears within group_wait is never sent, not even as resolved")
    func clearsWithinGroupWait() {
        var lifecycle = AlertLifecycle(settings: settings)
        #expect(lifecycle.evaluate([condition(count: 3)], now: at(0)).isEmpty)
        #expect(lifecycle.evaluate([condition(count: 3)], now: at(20)).isEmpty)
        #expect(lifecycle.evaluate([], now: at(25)).isEmpty)
        #expect(lifecycle.groups.isEmpty)
    }

    @Test("an open group is told once after group_wait, then only updated, reminded, re-paged and resolved")
    func wholeLife() {
        var lifecycle = AlertLifecycle(settings: settings)
        #expect(lifecycle.evaluate([condition(count: 10)], now: at(0)).isEmpty)
        let opened = lifecycle.evaluate([condition(count: 10)], now: at(30))
        #expect(opened.map(\.reason) == [.opened])
        #expect(opened.first?.pages == true)
        #expect(opened.first?.pageCount == 1)
        // The same count again and again: nothing until repeat_interval.
        #expect(lifecycle.evaluate([condition(count: 10)], now: at(60)).isEmpty)
        #expect(lifecycle.evaluate([condition(count: 10)], now: at(3_600)).isEmpty)
        // More records but under the growth factor, within group_interval: held; after it: an update.
        #expect(lifecycle.evaluate([condition(count: 14)], now: at(3_700)).map(\.reason) == [.updated])
        #expect(lifecycle.evaluate([condition(count: 15)], now: at(3_800)).isEmpty)
        let updated = lifecycle.evaluate([condition(count: 15)], now: at(4_000))
        #expect(updated.map(\.reason) == [.updated])
        #expect(updated.first?.pages == false)
        // Doubled since the last page: a new page at once, with a new incident number.
        let grew = lifecycle.evaluate([condition(count: 20)], now: at(4_010))
        #expect(grew.map(\.reason) == [.grew])
        #expect(grew.first?.pages == true)
        #expect(grew.first?.pageCount == 2)
        // Unchanged for repeat_interval: a reminder, not a page.
        let reminder = lifecycle.evaluate([condition(count: 20)], now: at(4_010 + 4 * 3_600))
        #expect(reminder.map(\.reason) == [.reminder])
        #expect(reminder.first?.pages == false)
        // Cleared: resolved, naming both pages so a pager closes both incidents.
        let resolved = lifecycle.evaluate([], now: at(20_000))
        #expect(resolved.map(\.status) == [.resolved])
        #expect(resolved.first?.pageCount == 2)
        #expect(lifecycle.groups.isEmpty)
    }

    @Test("a silence that matches holds the group back, and it is told once the silence ends")
    func silenced() {
        var lifecycle = AlertLifecycle(settings: settings)
        let silence = Silence(matchers: [.init(label: "code", value: "STRING_TOO_LONG")], startsAt: Timestamp(at(0)),
                              endsAt: Timestamp(at(3_600)), createdBy: "ops", comment: "known")
        let other = Silence(matchers: [.init(label: "code", value: "OTHER")], startsAt: Timestamp(at(0)), endsAt: Timestamp(at(9_999)),
                            createdBy: "ops", comment: "another group")
        #expect(lifecycle.evaluate([condition(count: 5)], now: at(0), silences: [silence, other]).isEmpty)
        #expect(lifecycle.evaluate([condition(count: 50)], now: at(600), silences: [silence, other]).isEmpty)
        let told = lifecycle.evaluate([condition(count: 50)], now: at(3_600), silences: [silence, other])
        #expect(told.map(\.reason) == [.opened])
        #expect(told.first?.count == 50)
    }

    @Test("a silenced group that clears before it was ever told resolves quietly")
    func silencedThenCleared() {
        var lifecycle = AlertLifecycle(settings: settings)
        let silence = Silence(matchers: [.init(label: "kind", value: "*")], startsAt: Timestamp(at(0)), endsAt: Timestamp(at(3_600)),
                              createdBy: "ops", comment: "maintenance")
        #expect(lifecycle.evaluate([condition(count: 5)], now: at(0), silences: [silence]).isEmpty)
        #expect(lifecycle.evaluate([condition(count: 5)], now: at(100), silences: [silence]).isEmpty)
        #expect(lifecycle.evaluate([], now: at(200), silences: [silence]).isEmpty)
    }

    @Test("during a replay the group is told with the annotation and does not page")
    func annotatedDuringReplay() {
        var lifecycle = AlertLifecycle(settings: settings)
        let note = "during replay started by ops"
        _ = lifecycle.evaluate([condition(count: 5)], now: at(0)) { _ in note }
        let told = lifecycle.evaluate([condition(count: 5)], now: at(30)) { _ in note }
        #expect(told.map(\.reason) == [.opened])
        #expect(told.first?.annotation == note)
        #expect(told.first?.pages == false)
        // After the replay, growth pages as usual, as the group's first page.
        let grew = lifecycle.evaluate([condition(count: 10)], now: at(60))
        #expect(grew.map(\.reason) == [.grew])
        #expect(grew.first?.pages == true)
        #expect(grew.first?.pageCount == 1)
    }
}
