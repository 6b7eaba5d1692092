import BillsyncAlerter
import BillsyncContracts
import Foundation
import Testing

/// The lifecycle of an alert group, stepped through hours of simulated time.
@Suite("An alert group is told once, updated in place while its run flows, reminded, re-paged when it grows after it settled, and resolved")
struct AlertLifecycleTests {
    let start = Date(timeIntervalSince1970: 1_795_000_000)
    var settings: AlertRules.Lifecycle {
        var settings = AlertRules.Lifecycle()
        settings.groupWait = .seconds(30)
        settings.groupInterval = .seconds(300)
        settings.repeatInterval = .seconds(4 * 3_600)
        settings.growthFactor = 2
        settings.settle = .seconds(600)
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
        // Doubled while still growing (its run flows): held within group_interval, then an
        // update, never a page.
        #expect(lifecycle.evaluate([condition(count: 20)], now: at(4_010)).isEmpty)
        let flowing = lifecycle.evaluate([condition(count: 40)], now: at(4_400))
        #expect(flowing.map(\.reason) == [.updated] && flowing.first?.pageCount == 1)
        // Quiet for `settle`: settled. Growing again past twice the paged count is news: a new
        // page, with a new incident number.
        #expect(lifecycle.evaluate([condition(count: 40)], now: at(5_000)).isEmpty)
        let grew = lifecycle.evaluate([condition(count: 80)], now: at(6_000))
        #expect(grew.map(\.reason) == [.grew])
        #expect(grew.first?.pages == true)
        #expect(grew.first?.pageCount == 2)
        // Unchanged for repeat_interval: a reminder, not a page.
        let reminder = lifecycle.evaluate([condition(count: 80)], now: at(6_000 + 4 * 3_600))
        #expect(reminder.map(\.reason) == [.reminder])
        #expect(reminder.first?.pages == false)
        // Cleared: resolved, naming both pages so a pager closes both incidents.
        let resolved = lifecycle.evaluate([], now: at(30_000))
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

    @Test("a root cause whose count grows through a large run pages once and is updated in place (91 to 4,968 dead letters: one page, not seven)")
    func onePagePerRootCauseWhileTheRunFlows() {
        var lifecycle = AlertLifecycle(settings: settings)
        var told: [AlertNotification] = []
        let counts = [91, 91, 224, 482, 1_001, 2_003, 4_039, 4_968, 4_968]
        for (step, count) in counts.enumerated() {
            told += lifecycle.evaluate([condition(count: count)], now: at(Double(step) * 120))
        }
        #expect(told.filter(\.pages).count == 1)
        #expect(told.first?.reason == .opened)
        #expect(told.last?.reason == .updated && told.last?.count == 4_968 && told.last?.pageCount == 1)
    }

    @Test("a group growing past repageAbove pages once more while its run flows, then only updates")
    func repageAboveAnAbsoluteCount() {
        var rules = settings
        rules.repageAbove = 1_000
        var lifecycle = AlertLifecycle(settings: rules)
        var told: [AlertNotification] = []
        for (step, count) in [10, 10, 400, 1_200, 2_500, 5_000].enumerated() {
            told += lifecycle.evaluate([condition(count: count)], now: at(Double(step) * 120))
        }
        #expect(told.filter(\.pages).map(\.count) == [10, 1_200])
        #expect(told.last?.pageCount == 2)
    }
}
