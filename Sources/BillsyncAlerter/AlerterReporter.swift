import BillsyncContracts
import BillsyncSalesforce
import BillsyncHTTP
import BillsyncKafka
import BillsyncOperations
import BillsyncRuntime
import BillsyncTopics
import Foundation
import Logging

/// Writes a run's sync report (JSON, Markdown, HTML) to the reports folder and publishes it to
/// the reports topic, with a reconciliation against Salesforce when the loader's credentials are
/// there to read records back. The API calls it states are Salesforce's own count of the day
/// (its limits resource, after the read-back; else the loader's heartbeat).
public struct AlerterReporter: Sendable {
    public let directory: URL
    public let reconciler: Reconciler?
    public let topic: String
    /// Salesforce's count of the day's API calls, read from its limits resource when the
    /// alerter has credentials; else the loader's heartbeat says it (up to a beat late).
    let dailyUsage: (@Sendable () async throws -> Int)?
    let logger: Logger

    public init(directory: URL, reconciler: Reconciler?, topic: String, dailyUsage: (@Sendable () async throws -> Int)? = nil,
                logger: Logger) {
        self.directory = directory
        self.reconciler = reconciler
        self.topic = topic
        self.dailyUsage = dailyUsage
        self.logger = logger
    }

    static func make(settings: AlerterSettings, catalog: TopicCatalog, environment: [String: String], http: HTTPTransport,
                     logger: Logger) throws -> AlerterReporter? {
        let directory = URL(fileURLWithPath: settings.reportsDirectory ?? settings.rules.reports.directory, isDirectory: true)
        var reconciler: Reconciler?
        var dailyUsage: (@Sendable () async throws -> Int)?
        if settings.reconcileWithSalesforce, settings.rules.reports.reconciliationSample > 0 {
            let loader = try SalesforceOrgSettings(environment: environment)
            let session = try SalesforceSession(loginURL: loader.loginURL, credentials: try SalesforceCredentials.fromEnvironment(environment),
                                                audience: loader.audience, http: http)
            let client = SalesforceClient(session: session, budget: APIBudget(share: loader.budgetShare))
            reconciler = Reconciler(readBack: client, sampleSize: settings.rules.reports.reconciliationSample)
            dailyUsage = { try await client.dailyUsage().used }
        }
        return AlerterReporter(directory: directory, reconciler: reconciler, topic: catalog.reports, dailyUsage: dailyUsage, logger: logger)
    }

    /// The report's ledger → files and a message; returns the HTML page's path.
    public func closure(contracts: MessageContracts, producer: KafkaProducer) -> AlerterService.Reporter {
        { ledger, run, heartbeatCalls, final in
            var reconciliation: SyncReport.Reconciliation?
            var apiCalls = heartbeatCalls
            if final, let reconciler {
                reconciliation = try await reconciler.reconcile(ledger: ledger)
                apiCalls = (try? await dailyUsage?()) ?? heartbeatCalls
            }
            let started = run.startedAt ?? run.finishedAt
            let report = SyncRunReport(ledger: ledger, runId: UUID(uuidString: run.runId) ?? UUID(),
                                       source: run.source == AlerterObservations.RunCheck.everySource ? nil : run.source,
                                       startedAt: Timestamp(started), finishedAt: Timestamp(run.finishedAt),
                                       period: SyncReport.Period(from: Timestamp(started), to: Timestamp(run.finishedAt)),
                                       apiCalls: apiCalls, stageTimings: RunAccounting.stageTimings(ledger, run: run),
                                       reconciliation: reconciliation).payload
            let files = try SyncReportFiles(contracts: contracts).write(report, to: directory)
            let message = try OutgoingMessage(topic: topic, message: report.message(), contracts: contracts)
            let delivery = try await producer.send(KafkaProducerMessage(topic: message.topic, key: Array(message.key.utf8), value: message.value,
                                                                        headers: message.headers))
            if let error = delivery.error { logger.error("sync report not published", metadata: ["error": "\(error)"]) }
            return files.html.path
        }
    }
}
