import BillsyncContracts
import Foundation

/// When a condition becomes a notification, as Alertmanager's route does it, plus what its
/// users ask for: a resolved notification on every channel, one page per root cause while its
/// run flows, and a new page only when a group grows again after it settled.
///
/// - A new condition waits `groupWait`; one that clears within it is never sent.
/// - While a group keeps growing (its run still flows), its count is updated in place, never
///   paged again: a large run's dead letters arrive over many minutes, and paging each time the
///   count doubled woke people up many times for one cause.
/// - An open group that stopped growing for `settle` has settled; when it grows again to
///   `growthFactor` × its count at the last page (a later run, or the same cause coming back),
///   it pages again. So does a group that grows past `repageAbove`, once, settled or not.
/// - An open group that changed is updated at most every `groupInterval` (no page).
/// - An open group that did not change is reminded every `repeatInterval`.
/// - A notified group whose condition cleared is resolved once; a silenced one never notified
///   is forgotten quietly.
/// - A silence holds notifications back while it matches; the group is told when it ends.
///
/// Pure: `evaluate` takes the time, so tests step through hours without waiting.
public struct AlertLifecycle: Sendable {
    /// One group's life so far; what survives a restart (kept in the alerter's state topic).
    public struct Group: Sendable, Hashable, Codable {
        public enum Phase: String, Sendable, Hashable, Codable {
            /// Seen, waiting out `groupWait` (or a silence).
            case pending
            /// Notified and still holding.
            case firing
        }

        public var condition: AlertCondition
        public var phase: Phase
        public var openedAt: Date
        public var notifiedAt: Date?
        /// The count last told, and the count at the last page.
        public var notifiedCount = 0
        public var pagedCount = 0
        public var pageCount = 0
        /// The count at the last evaluation, and when it last rose (nil in state written before
        /// these were kept: taken as the count told and the time opened).
        public var lastCount: Int?
        public var grewAt: Date?
    }

    public var groups: [String: Group] = [:]
    public var settings: AlertRules.Lifecycle

    public init(settings: AlertRules.Lifecycle, groups: [String: Group] = [:]) {
        self.settings = settings
        self.groups = groups
    }

    /// The notifications due at `now` for the conditions holding now. `annotation` says why a
    /// group must not page (a replay in progress), nil when it may.
    public mutating func evaluate(
        _ conditions: [AlertCondition], now: Date, silences: [Silence] = [], annotation: (AlertCondition) -> String? = { _ in nil }
    ) -> [AlertNotification] {
        var notifications: [AlertNotification] = []
        var holding = Set<String>()
        for condition in conditions {
            holding.insert(condition.key)
            var group = groups[condition.key] ?? Group(condition: condition, phase: .pending, openedAt: now)
            group.condition = condition
            defer { groups[condition.key] = group }
            if silences.contains(where: { $0.silences(condition.labels, at: now) }) { continue }
            let note = annotation(condition)
            switch group.phase {
            case .pending:
                guard now.timeIntervalSince(group.openedAt) >= settings.groupWait.timeInterval else { continue }
                group.phase = .firing
                group.pageCount = note == nil ? 1 : 0
                group.pagedCount = condition.count
                notifications.append(condition.notification(status: .firing, reason: .opened, pageCount: max(group.pageCount, 1), annotation: note))
            case .firing:
                let sinceNotified = group.notifiedAt.map { now.timeIntervalSince($0) } ?? .infinity
                if condition.count > group.pagedCount, mayPageAgain(group, count: condition.count, now: now) {
                    group.pagedCount = condition.count
                    if note == nil { group.pageCount += 1 }
                    notifications.append(condition.notification(status: .firing, reason: .grew, pageCount: max(group.pageCount, 1), annotation: note))
                } else if condition.count != group.notifiedCount, sinceNotified >= settings.groupInterval.timeInterval {
                    notifications.append(condition.notification(status: .firing, reason: .updated, pageCount: max(group.pageCount, 1), annotation: note))
                } else if sinceNotified >= settings.repeatInterval.timeInterval {
                    notifications.append(condition.notification(status: .firing, reason: .reminder, pageCount: max(group.pageCount, 1), annotation: note))
                } else {
                    continue
                }
            }
            group.notifiedAt = now
            group.notifiedCount = condition.count
        }
        for condition in conditions where groups[condition.key] != nil {
            let last = groups[condition.key]!.lastCount ?? groups[condition.key]!.notifiedCount
            if condition.count > last || groups[condition.key]!.grewAt == nil { groups[condition.key]!.grewAt = now }
            groups[condition.key]!.lastCount = condition.count
        }
        for (key, group) in groups where !holding.contains(key) {
            groups[key] = nil
            // Never told (cleared within group_wait, or silenced throughout): nothing to resolve.
            guard group.phase == .firing else { continue }
            var condition = group.condition
            condition.lastSeenAt = max(condition.lastSeenAt, now)
            notifications.append(condition.notification(status: .resolved, reason: .resolved, pageCount: max(group.pageCount, 1), annotation: nil))
        }
        return notifications
    }

    /// Whether a group that grew past its last page's count pages again: it grows now, after it
    /// had settled (no growth for `settle`), to `growthFactor` × that count, or it just
    /// passed `repageAbove`, or it never paged (told during a replay) and grew by the factor.
    func mayPageAgain(_ group: Group, count: Int, now: Date) -> Bool {
        let grownEnough = Double(count) >= Double(max(group.pagedCount, 1)) * settings.growthFactor
        // A group told only with an annotation (during a replay) never paged: its growth after
        // the replay is its first page.
        if group.pageCount == 0 { return grownEnough }
        if let above = settings.repageAbove, count >= above, group.pagedCount < above { return true }
        // Growth now, after a quiet `settle`: a later run (or the cause coming back), not the
        // tail of the run already told.
        let rose = count > (group.lastCount ?? group.notifiedCount)
        let quietSince = group.grewAt ?? group.openedAt
        let settled = now.timeIntervalSince(quietSince) >= settings.settle.timeInterval
        return rose && settled && grownEnough
    }
}
