import BillsyncRuntime
import Foundation

/// The alerter's own settings beside the worker's: its rules, where reports go, and its
/// channels. Channel URLs and keys are secrets: read with `Secrets` (the variable, or the file
/// `<NAME>_FILE` names), never from arguments, never printed.
public struct AlerterSettings: Sendable {
    public var rules = AlertRules()
    /// Overrides `reports.directory` of the rules (BILLSYNC_REPORTS_DIR).
    public var reportsDirectory: String?
    /// The transformer's mapping: which CRM object each record type becomes.
    public var mappingFile = "Deploy/transformer/mapping.yaml"
    /// The stages that run, whose committed offsets the run accounting reads.
    public var stages = ["transformer", "rollup", "loader", "loader-billing"]
    public var webhookURL: URL?
    public var slackWebhookURL: URL?
    /// Slack's Web API (a bot token and a channel): one message per group, updated in place.
    public var slackBot: SlackBot?
    public var pagerDutyRoutingKey: String?
    public var pagerDutyURL: URL?
    public var smtp: SMTP?
    /// Salesforce read-back for the reports' reconciliation: the loader's own variables.
    public var reconcileWithSalesforce = false

    public struct SlackBot: Sendable {
        public var token: String
        public var channel: String
        public var apiURL: URL?
    }

    public struct SMTP: Sendable {
        public var host: String
        public var port: Int
        public var from: String
        public var to: [String]
        public var username: String?
        public var password: String?
    }

    public init() {}

    /// From BILLSYNC_ALERT_* variables and the rules file (`--rules` or BILLSYNC_ALERT_RULES).
    public init(environment: [String: String], rulesFile: String?) throws {
        if let file = rulesFile ?? environment["BILLSYNC_ALERT_RULES"] {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw AlertRulesError(key: file, reason: "cannot read the rules file")
            }
            rules = try AlertRules(yaml: text, file: file)
        }
        reportsDirectory = environment["BILLSYNC_REPORTS_DIR"]
        if let mapping = environment["BILLSYNC_MAPPING"] { mappingFile = mapping }
        if let stages = environment["BILLSYNC_ALERT_STAGES"] {
            self.stages = stages.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        func url(_ name: String) throws -> URL? {
            guard let text = try Secrets.read(name, from: environment) else { return nil }
            guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https" else {
                throw AlertRulesError(key: name, reason: "is not an http(s) URL")
            }
            return url
        }
        webhookURL = try url("BILLSYNC_ALERT_WEBHOOK_URL")
        slackWebhookURL = try url("BILLSYNC_ALERT_SLACK_WEBHOOK_URL")
        if let token = try Secrets.read("BILLSYNC_ALERT_SLACK_BOT_TOKEN", from: environment) {
            guard let channel = environment["BILLSYNC_ALERT_SLACK_CHANNEL"], !channel.isEmpty else {
                throw AlertRulesError(key: "BILLSYNC_ALERT_SLACK_BOT_TOKEN", reason: "needs BILLSYNC_ALERT_SLACK_CHANNEL (the channel to post in)")
            }
            slackBot = SlackBot(token: token, channel: channel, apiURL: try url("BILLSYNC_ALERT_SLACK_API_URL"))
        }
        pagerDutyRoutingKey = try Secrets.read("BILLSYNC_ALERT_PAGERDUTY_ROUTING_KEY", from: environment)
        pagerDutyURL = try url("BILLSYNC_ALERT_PAGERDUTY_URL")
        if let host = environment["BILLSYNC_ALERT_SMTP_HOST"] {
            guard let from = environment["BILLSYNC_ALERT_SMTP_FROM"], let to = environment["BILLSYNC_ALERT_SMTP_TO"] else {
                throw AlertRulesError(key: "BILLSYNC_ALERT_SMTP_HOST", reason: "needs BILLSYNC_ALERT_SMTP_FROM and BILLSYNC_ALERT_SMTP_TO")
            }
            let port = environment["BILLSYNC_ALERT_SMTP_PORT"].map { Int($0) } ?? 25
            guard let port, (1...65_535).contains(port) else {
                throw AlertRulesError(key: "BILLSYNC_ALERT_SMTP_PORT", reason: "is not a port number")
            }
            smtp = SMTP(host: host, port: port, from: from, to: to.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
                        username: environment["BILLSYNC_ALERT_SMTP_USERNAME"],
                        password: try Secrets.read("BILLSYNC_ALERT_SMTP_PASSWORD", from: environment))
        }
        reconcileWithSalesforce = try Secrets.read("SALESFORCE_CLIENT_ID", from: environment) != nil
    }

    /// For `--print-config`: which channels are on, never their URLs or keys.
    public var printable: String {
        func on(_ value: Any?) -> String { value == nil ? "off" : "on (secret, not shown)" }
        return """
            alerter:
              rules: lag.seconds=\(rules.lag.seconds), deadLetters.window=\(rules.deadLetters.window), staleness.after=\(rules.staleness.after), lifecycle.groupWait=\(rules.lifecycle.groupWait)
              reports: \(reportsDirectory ?? rules.reports.directory)
              channels: log on, alerts topic on, webhook \(on(webhookURL)), slack \(on(slackWebhookURL)), slack bot \(slackBot.map { "on (\($0.channel), token not shown)" } ?? "off"), pagerduty \(on(pagerDutyRoutingKey)), email \(smtp.map { "on (\($0.host):\($0.port) → \($0.to.count) recipients)" } ?? "off")
            """
    }
}
