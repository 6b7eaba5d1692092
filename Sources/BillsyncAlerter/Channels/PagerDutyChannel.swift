import Foundation

/// Pages through PagerDuty's Events API v2: a trigger for an opened or grown group that is not
/// annotated (`AlertNotification.pages`); an update as a trigger with the open incident's own
/// `dedup_key`, which PagerDuty folds into that incident (its log shows the new count) without
/// waking anyone again; and, once the group resolves, a resolve for every incident it opened
/// (`dedup_key` `<groupKey>`, `<groupKey>#2`, ...). Reminders and annotated notifications are
/// left to the other channels: `deliver` returns without sending.
///
/// PagerDuty answers 202; 429 means the routing key's rate limit (about 120 events a minute)
/// was reached, retried with backoff like a 5xx.
public struct PagerDutyChannel: AlertChannel {
    public static let defaultEventsURL = URL(string: "https://events.pagerduty.com/v2/enqueue")!

    public let name: String
    private let routingKey: String
    private let eventsURL: URL
    private let source: String
    private let poster: HTTPPoster

    /// - Parameters:
    ///   - routingKey: the service integration's key (32 characters); a secret, never logged.
    ///   - eventsURL: the Events API endpoint (an EU account uses `events.eu.pagerduty.com`).
    ///   - source: what the incident names as the affected system, e.g. the fleet's name.
    ///   - name: the channel's name in metrics and logs.
    ///   - poster: the HTTP client (its timeout).
    public init(routingKey: String, eventsURL: URL = PagerDutyChannel.defaultEventsURL, source: String,
                name: String = "pagerduty", poster: HTTPPoster = HTTPPoster()) {
        self.routingKey = routingKey
        self.eventsURL = eventsURL
        self.source = source
        self.name = name
        self.poster = poster
    }

    public func deliver(_ notification: AlertNotification) async throws {
        let events: [PagerDutyEvent]
        if notification.status == .resolved {
            events = PagerDutyEvent.resolves(notification, routingKey: routingKey)
        } else if notification.pages || (notification.reason == .updated && notification.annotation == nil) {
            events = [PagerDutyEvent.trigger(notification, routingKey: routingKey, source: source)]
        } else {
            return
        }
        // In order; a failure part-way throws and the whole notification is sent again, which
        // PagerDuty takes in its stride (a second resolve of a resolved incident is a no-op).
        for event in events {
            let body: Data
            do {
                body = try event.json()
            } catch {
                throw ChannelFailure(retryable: false, reason: "the PagerDuty event could not be encoded: \(error)")
            }
            try await poster.post(json: body, to: eventsURL, secrets: [routingKey])
        }
    }
}
