import BillsyncContracts
import BillsyncKafka
import BillsyncOperations
import BillsyncRuntime
import BillsyncTopics
import BillsyncMapping
import Foundation
import Logging

/// The alerter worker: its channels, engine, stage and service on the common worker shape.
/// Everything the executable does beyond parsing its arguments.
public enum AlerterWorker {
    public static func run(configuration: WorkerConfiguration, settings: AlerterSettings, catalog: TopicCatalog,
                           environment: [String: String], logger: Logger) async throws {
        let objects = try objectsByRecordType(mappingFile: settings.mappingFile)
        // Checked before the worker starts (a wrong login URL is a setup error); built again below
        // on the worker's own HTTP client.
        _ = try AlerterReporter.make(settings: settings, catalog: catalog, environment: environment, http: .shared, logger: logger)
        try await StageWorker.run(configuration: configuration, logger: logger) { context in
            let reporter = try AlerterReporter.make(settings: settings, catalog: catalog, environment: environment, http: context.http,
                                                    logger: logger)
            let channels = makeChannels(settings: settings, context: context, catalog: catalog, logger: logger)
            // Short in-round retries: a channel still failing after them waits for the next round
            // (every evaluation interval), so one slow receiver never holds a round for minutes.
            let delivery = ChannelDelivery(maximumAttempts: 3, initialBackoff: .seconds(1), maximumBackoff: .seconds(10), logger: logger)
            let engine = AlerterEngine(rules: settings.rules, catalog: catalog, channels: channels,
                                       send: { await delivery.deliver($0, to: $1) }, clock: .system, logger: logger)
            let handler = AlerterHandler(engine: engine, contracts: context.contracts, stateTopic: catalog.alerterState)
            let runtime = try StageWorker.makeRuntime(handler: handler, context: context)
            let accounting = RunAccounting(connection: configuration.connection, catalog: catalog,
                                           stages: settings.stages.map(Stage.init(rawValue:)), objects: objects, logger: logger)
            let service = AlerterService(engine: engine, runtime: runtime, connection: configuration.connection, catalog: catalog,
                                         contracts: context.contracts, producer: context.producer, accounting: accounting,
                                         reporter: reporter?.closure(contracts: context.contracts, producer: context.producer),
                                         clock: .system, logger: logger)
            return WorkerDriver(service: service, isReady: { runtime.hasJoinedGroup })
        }
    }

    /// The log and the alerts topic always; webhook, Slack, PagerDuty and email when configured.
    static func makeChannels(settings: AlerterSettings, context: WorkerContext, catalog: TopicCatalog, logger: Logger) -> [any AlertChannel] {
        var channels: [any AlertChannel] = [
            LogChannel(logger: logger),
            AlertsTopicChannel(topic: catalog.alerts, producer: context.producer, contracts: context.contracts),
        ]
        let poster = HTTPPoster(timeout: .seconds(10), http: context.http)
        if let url = settings.webhookURL { channels.append(WebhookChannel(url: url, poster: poster)) }
        if let url = settings.slackWebhookURL { channels.append(SlackChannel(webhookURL: url, poster: poster)) }
        if let bot = settings.slackBot {
            channels.append(SlackAPIChannel(token: bot.token, channel: bot.channel, apiURL: bot.apiURL ?? SlackAPIChannel.defaultAPIURL,
                                            name: "slack-bot", poster: poster))
        }
        if let key = settings.pagerDutyRoutingKey {
            channels.append(PagerDutyChannel(routingKey: key, eventsURL: settings.pagerDutyURL ?? PagerDutyChannel.defaultEventsURL,
                                             source: "billsync \(catalog.prefix)", poster: poster))
        }
        if let smtp = settings.smtp {
            channels.append(EmailChannel(host: smtp.host, port: smtp.port, from: smtp.from, to: smtp.to,
                                         username: smtp.username, password: smtp.password, timeout: .seconds(10)))
        }
        return channels
    }

    /// Record type → CRM object, as the transformer's mapping says (the first object per type).
    public static func objectsByRecordType(mappingFile: String) throws -> [String: String] {
        let document = try MappingDocument(yaml: String(contentsOfFile: mappingFile, encoding: .utf8))
        var objects: [String: String] = [:]
        for object in document.objects where objects[object.source.rawValue] == nil { objects[object.source.rawValue] = object.object }
        return objects
    }
}
