import ArgumentParser
import BillsyncContracts
import BillsyncRuntime
import BillsyncMapping
import BillsyncTopics
import BillsyncTransformer
import Foundation
import Logging

/// The transformer worker: raw billing records in, CRM upsert commands out, by the mapping file.
/// Configuration: `--config FILE` (or BILLSYNC_CONFIG) and BILLSYNC_* environment variables; the
/// mapping file is BILLSYNC_TRANSFORMER_MAPPING and its lookup tables sit next to it. Change
/// suppression's memory is the compacted `crm.loaded` topic (read whole at start, then followed);
/// the rollup role's facts are the compacted `rollup.facts` topic, read into a local cache at
/// BILLSYNC_TRANSFORMER_STATE (rebuilt at every start; an `emptyDir` is enough).
///
/// Two roles: `mapping` (the default; scale it out freely) maps each raw record by the mapping
/// rules; `rollup` keeps the account hierarchies and writes the C1/C2 totals the mapping file's
/// `hierarchy` section names (run it as one replica: it must see every account of a hierarchy).
@main
struct Transformer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billsync-transformer",
        abstract: "Turn raw billing records into CRM upsert commands by declarative mapping rules."
    )

    @Option(help: "A YAML configuration file (BILLSYNC_CONFIG).") var config: String?
    @Flag(help: "Print the effective configuration, secrets masked, and exit.") var printConfig = false
    @Option(help: "mapping (default) or rollup (BILLSYNC_TRANSFORMER_ROLE).") var role: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let catalog = TopicCatalog(environment: environment)
        let roleName = role ?? environment["BILLSYNC_TRANSFORMER_ROLE"] ?? "mapping"
        guard roleName == "mapping" || roleName == "rollup" else {
            throw ValidationError("role '\(roleName)' is not mapping or rollup")
        }
        let isRollup = roleName == "rollup"
        var configuration = WorkerConfiguration(stage: isRollup ? .rollup : .transformer, catalog: catalog)
        do {
            try configuration.load(file: config ?? environment["BILLSYNC_CONFIG"], environment: environment)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let mappingPath = environment["BILLSYNC_TRANSFORMER_MAPPING"]
            ?? ["Deploy/transformer/mapping.yaml", "/usr/local/share/billsync/transformer/mapping.yaml"]
            .first { FileManager.default.fileExists(atPath: $0) } ?? "Deploy/transformer/mapping.yaml"
        let statePath = environment["BILLSYNC_TRANSFORMER_STATE"] ?? "rollup-cache.sqlite"
        if printConfig {
            print(configuration.printable + "\ntransformer:\n  role: \(roleName)\n  mapping: \(mappingPath)"
                  + (isRollup ? "\n  cache: \(statePath)" : ""))
            return
        }
        let document: MappingDocument
        do {
            document = try MappingDocument(yaml: String(contentsOfFile: mappingPath, encoding: .utf8))
        } catch let error as MappingError {
            throw ValidationError("\(mappingPath) \(error)")
        }
        WorkerLogging.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        let output = catalog.upsertCommands
        if isRollup {
            guard let hierarchy = document.hierarchy else {
                throw ValidationError("\(mappingPath) has no hierarchy section, so the rollup role has nothing to do")
            }
            try await StageWorker.run(configuration: configuration, logger: Logger(label: "billsync.rollup"), makeStage: { context in
                let loaded = LoadedRecords(use: .suppression)
                let handler = HierarchyRollupHandler(
                    mapping: hierarchy, store: try HierarchyStore(path: statePath, fresh: true),
                    writer: UpsertWriter(loaded: loaded, outputTopic: output, contracts: context.contracts),
                    factsTopic: catalog.rollupFacts, contracts: context.contracts)
                return (handler, [handler.factsTable(), loaded.table(topic: catalog.loadedRecords, contracts: context.contracts)])
            })
            return
        }
        try await StageWorker.run(configuration: configuration, logger: Logger(label: "billsync.transformer"), makeStage: { context in
            let loaded = LoadedRecords(use: .suppression)
            let handler = TransformerHandler(
                mapper: try RecordMapper(document: document, lookupDirectory: URL(fileURLWithPath: mappingPath).deletingLastPathComponent()),
                loaded: loaded, outputTopic: output, contracts: context.contracts, parallelism: context.configuration.runtime.parallelism)
            return (handler, [loaded.table(topic: catalog.loadedRecords, contracts: context.contracts)])
        })
    }
}
