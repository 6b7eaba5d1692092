import BillsyncContracts
import Foundation

/// One message about one alert group, as every channel receives it: what broke, how often,
/// since when, three records to look at, and the command that repairs it. Channels only
/// format it; the lifecycle (`AlertLifecycle`) decides when one is sent.
public struct AlertNotification: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        case firing
        case resolved
    }

    /// Why this notification goes out now.
    public enum Reason: String, Sendable, Hashable, Codable {
        /// The group's first notification, once it outlived `group_wait`.
        case opened
        /// The open group grew past the growth factor since its last page: pages again.
        case grew
        /// The open group changed (more records) and `group_interval` passed: an update, no page.
        case updated
        /// Nothing changed for `repeat_interval`: a reminder that it is still open.
        case reminder
        /// The condition cleared.
        case resolved

        /// Whether a paging channel (PagerDuty) should wake someone for it.
        public var pages: Bool { self == .opened || self == .grew }
    }

    /// Stable for the group's whole life (PagerDuty's `dedup_key`, Slack's thread, email's
    /// References): at most 255 characters.
    public var groupKey: String
    public var status: Status
    public var reason: Reason
    public var severity: Alert.Severity
    public var kind: Alert.Kind
    /// One line, e.g. "412 records failed at the loader with STRING_TOO_LONG on Contact.MailingStreet".
    public var title: String
    /// What is known and what to do, a few sentences.
    public var summary: String
    public var stage: String?
    public var topic: String?
    /// Records (or occurrences) in the group so far.
    public var count: Int
    public var firstSeenAt: Date
    public var lastSeenAt: Date
    /// Up to three business keys (or file lines) to look at.
    public var examples: [String]
    /// The operator tool's command that repairs the group (a redrive), when there is one.
    public var command: String?
    public var runbook: String?
    /// Set while a replay or redrive is running: the alert is told, not paged.
    public var annotation: String?
    /// What silences match on: `kind`, `stage`, `code`, `field`, `object`, `group`.
    public var labels: [String: String]
    /// Pages sent for this group so far (1 after it opened, 2 after it grew once, ...): a
    /// paging channel opens a new incident per page (`dedup_key` `<groupKey>` then
    /// `<groupKey>#2`, ...) and resolves all of them when the group resolves.
    public var pageCount: Int
    /// Figures behind the title (PagerDuty's `custom_details`, the webhook's `details`).
    public var details: [String: String]

    public init(groupKey: String, status: Status, reason: Reason, severity: Alert.Severity, kind: Alert.Kind,
                title: String, summary: String, stage: String? = nil, topic: String? = nil, count: Int,
                firstSeenAt: Date, lastSeenAt: Date, examples: [String] = [], command: String? = nil,
                runbook: String? = nil, annotation: String? = nil, labels: [String: String] = [:],
                pageCount: Int = 1, details: [String: String] = [:]) {
        self.groupKey = groupKey
        self.status = status
        self.reason = reason
        self.severity = severity
        self.kind = kind
        self.title = title
        self.summary = summary
        self.stage = stage
        self.topic = topic
        self.count = count
        self.firstSeenAt = firstSeenAt
        self.lastSeenAt = lastSeenAt
        self.examples = examples
        self.command = command
        self.runbook = runbook
        self.annotation = annotation
        self.labels = labels
        self.pageCount = pageCount
        self.details = details
    }

    /// Whether this notification should wake someone: a page-worthy reason, not annotated.
    public var pages: Bool { reason.pages && annotation == nil }
}
