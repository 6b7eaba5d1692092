import BillsyncAlerter
import BillsyncContracts
import Foundation

/// A notification like the loader's dead letters produce, for the channel tests to send.
enum SampleNotification {
    /// 2026-03-01T12:00:00Z, a Sunday.
    static let firstSeen = Date(timeIntervalSince1970: 1_772_366_400)
    static let lastSeen = firstSeen.addingTimeInterval(600)
    static let groupKey = "load-failures|loader|STRING_TOO_LONG|Contact.MailingStreet"
    static let title = "412 records failed at the loader with STRING_TOO_LONG on Contact.MailingStreet"
    static let command = "billsync redrive --stage loader --code STRING_TOO_LONG --field Contact.MailingStreet"

    static func make(groupKey: String = groupKey, status: AlertNotification.Status = .firing,
                     reason: AlertNotification.Reason = .opened, severity: Alert.Severity = .critical,
                     title: String = title,
                     summary: String = "Salesforce refused the street: longer than 255 characters. Shorten it in billing, then redrive.",
                     count: Int = 412, annotation: String? = nil, pageCount: Int = 1) -> AlertNotification {
        AlertNotification(groupKey: groupKey, status: status, reason: reason, severity: severity, kind: .loadFailures,
                          title: title, summary: summary, stage: "loader", topic: "billsync.loader.dlq", count: count,
                          firstSeenAt: firstSeen, lastSeenAt: lastSeen, examples: ["ACC-1001", "ACC-1002", "ACC-1003"],
                          command: command, runbook: "https://runbooks.example/billsync/load-failures",
                          annotation: annotation,
                          labels: ["kind": "load-failures", "stage": "loader", "code": "STRING_TOO_LONG",
                                   "field": "MailingStreet", "object": "Contact"],
                          pageCount: pageCount, details: ["object": "Contact", "field": "MailingStreet"])
    }
}
