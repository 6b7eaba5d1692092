// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "billsync",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BillsyncKafka", targets: ["BillsyncKafka"]),
        .library(name: "BillsyncContracts", targets: ["BillsyncContracts"]),
        .executable(name: "billsync", targets: ["billsync"]),
        .executable(name: "billsync-bench", targets: ["billsync-bench"]),
        .executable(name: "billsync-passthrough", targets: ["billsync-passthrough"]),
        .executable(name: "billsync-sandbox", targets: ["billsync-sandbox"]),
        .executable(name: "billsync-extractor", targets: ["billsync-extractor"]),
        .executable(name: "billsync-transformer", targets: ["billsync-transformer"]),
        .executable(name: "billsync-loader", targets: ["billsync-loader"]),
        .executable(name: "billsync-alerter", targets: ["billsync-alerter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // librdkafka's C API, found through pkg-config. scripts/setup.sh installs a version >= 2.2.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // The only target that touches librdkafka: producer, consumer, admin, mock cluster.
        .target(
            name: "BillsyncKafka",
            dependencies: [
                "CRdKafka", "BillsyncBlocking",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A strict JSON reader and a JSON Schema (2020-12) validator for the keywords billsync uses.
        .target(name: "BillsyncJSON"),
        // The message contracts: Swift types for every topic's messages, validated against Schemas/.
        .target(name: "BillsyncContracts", dependencies: ["BillsyncJSON"]),
        // The stage runtime: consume → validate → handle → produce → mark done, retries, dead
        // letters, configuration, logging, metrics and health endpoints, shared by every worker.
        .target(
            name: "BillsyncRuntime",
            dependencies: [
                "BillsyncTopics",
                "BillsyncKafka",
                "BillsyncContracts",
                "BillsyncJSON",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The topic catalog: every topic's name, partitions, retention and compaction, and which
        // stage reads which. The only place a topic name is spelled; every worker and the CLI use it.
        .target(name: "BillsyncTopics", dependencies: ["BillsyncKafka"]),
        // The operator-facing checks built on the catalog: the round trip,
        // and the sync report that accounts for every record of a run.
        .target(
            name: "BillsyncOperations",
            dependencies: [
                "BillsyncKafka", "BillsyncContracts", "BillsyncJSON", "BillsyncTopics",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Benchmarks that compare the binding with librdkafka's own tool.
        .target(
            name: "BillsyncBenchmarks",
            dependencies: [
                "BillsyncTopics",
                "BillsyncKafka",
                "BillsyncContracts",
                "BillsyncRuntime",
                "BillsyncTransformer",
                "BillsyncOperations",
                "BillsyncSandbox",
                "BillsyncExtractor",
                "BillsyncBlocking",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Helpers for tests that talk to a real broker: its address, unique names, waiting for a condition.
        .target(
            name: "BillsyncTestSupport",
            dependencies: [
                "BillsyncKafka",
                "BillsyncContracts",
                "BillsyncSandbox",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "billsync",
            dependencies: [
                "BillsyncTopics", "BillsyncRuntime", "BillsyncContracts",
                "BillsyncKafka",
                "BillsyncOperations",
                "BillsyncTransformer", "BillsyncExtractor", "BillsyncMapping",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "billsync-bench",
            dependencies: [
                "BillsyncBenchmarks",
                "BillsyncKafka",
                "BillsyncSandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BillsyncKafkaTests",
            dependencies: [
                "BillsyncKafka",
                "BillsyncTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]
        ),
        // Stand-ins for the systems that cannot run here (Salesforce, a billing engine) and their sample data.
        // libpq, PostgreSQL's C client (Debian's libpq-dev).
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // PostgreSQL access for the extractor's SQL source and the loader's replica sink.
        .target(name: "BillsyncPostgres", dependencies: ["CLibPQ"]),
        // The rule vocabulary both mapping files share (the sources' and the transformer's): one
        // implementation of trim, number and date formats, value maps, checks, and their YAML.
        .target(name: "BillsyncMapping", dependencies: ["BillsyncContracts", .product(name: "Yams", package: "Yams")]),
        // The transformer's declarative mapping: lookups, the mapping document, the record mapper.
        .target(
            name: "BillsyncTransformer",
            dependencies: [
                "BillsyncContracts", "BillsyncJSON", "BillsyncCSV", "BillsyncSQLite", "BillsyncRuntime", "BillsyncMapping", "BillsyncBlocking",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The extractor's sources: CSV drop folders (and, next, the billing API and PostgreSQL).
        .target(
            name: "BillsyncExtractor",
            dependencies: [
                "BillsyncTopics",
                "BillsyncContracts", "BillsyncJSON", "BillsyncCSV", "BillsyncPostgres", "BillsyncKafka", "COpenSSL", "BillsyncMapping", "BillsyncBlocking",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // RFC 4180 CSV reading and writing (sample data, Bulk API results, CSV drops).
        .target(name: "BillsyncCSV"),
        // The one queue blocking work (librdkafka waits, SQLite, SMTP, large files) runs on, off Swift's pool.
        .target(name: "BillsyncBlocking"),
        // SQLite's C API (Debian's libsqlite3-dev), for the emulators' storage and the transformer's state.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "BillsyncSQLite", dependencies: ["CSQLite", "BillsyncBlocking"]),
        // OpenSSL's libcrypto (already needed by librdkafka), to verify JWT bearer assertions.
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "BillsyncSandbox",
            dependencies: [
                "BillsyncContracts",
                "BillsyncCSV",
                "BillsyncSQLite",
                "COpenSSL",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "billsync-sandbox",
            dependencies: [
                "BillsyncSandbox",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "billsync-extractor",
            dependencies: [
                "BillsyncTopics",
                "BillsyncExtractor", "BillsyncContracts", "BillsyncKafka", "BillsyncRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "billsync-transformer",
            dependencies: [
                "BillsyncTopics",
                "BillsyncTransformer", "BillsyncRuntime", "BillsyncContracts", "BillsyncMapping",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The loader: Salesforce (Collections, Bulk API 2.0, OAuth, limits) and PostgreSQL sinks.
        .target(
            name: "BillsyncLoader",
            dependencies: [
                "BillsyncRuntime", "BillsyncTopics", "BillsyncKafka", "BillsyncContracts", "BillsyncPostgres", "BillsyncCSV", "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .executableTarget(
            name: "billsync-loader",
            dependencies: [
                "BillsyncTopics",
                "BillsyncLoader", "BillsyncRuntime", "BillsyncContracts", "BillsyncKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BillsyncLoaderTests",
            dependencies: [
                "BillsyncTopics",
                "BillsyncLoader", "BillsyncRuntime", "BillsyncContracts", "BillsyncKafka", "BillsyncPostgres", "BillsyncSandbox",
                "BillsyncTestSupport", "BillsyncOperations", "billsync-loader",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The alerter: rules over dead letters, results, lag and run reports; grouped, deduplicated
        // notifications to webhook, Slack, PagerDuty, email and the log; the sync report.
        .target(
            name: "BillsyncAlerter",
            dependencies: [
                "BillsyncRuntime", "BillsyncTopics", "BillsyncKafka", "BillsyncContracts", "BillsyncJSON",
                "BillsyncOperations", "BillsyncLoader", "BillsyncTransformer", "BillsyncBlocking",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "billsync-alerter",
            dependencies: [
                "BillsyncAlerter", "BillsyncRuntime", "BillsyncTopics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BillsyncAlerterTests",
            dependencies: [
                "BillsyncAlerter", "BillsyncRuntime", "BillsyncTopics", "BillsyncKafka", "BillsyncContracts",
                "BillsyncOperations", "BillsyncSandbox", "BillsyncTestSupport", "billsync-alerter",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "billsync-passthrough",
            dependencies: [
                "BillsyncTopics",
                "BillsyncRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BillsyncRuntimeTests",
            dependencies: [
                "BillsyncTopics",
                "BillsyncRuntime",
                "BillsyncContracts",
                "BillsyncKafka",
                "BillsyncTestSupport",
                "billsync-passthrough", "billsync-transformer", "billsync-loader", "billsync-extractor", "billsync-alerter",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "BillsyncExtractorTests",
            dependencies: [
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                "BillsyncTopics", "billsync-extractor",
                "BillsyncExtractor", "BillsyncContracts", "BillsyncCSV", "BillsyncPostgres", "BillsyncSandbox",
                "BillsyncKafka", "BillsyncTestSupport", "BillsyncMapping", "BillsyncJSON",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BillsyncTransformerTests",
            dependencies: [
                "BillsyncTransformer", "BillsyncContracts", "BillsyncJSON", "BillsyncRuntime", "BillsyncKafka", "BillsyncTestSupport",
                "BillsyncExtractor", "BillsyncSandbox", "BillsyncMapping", "BillsyncCSV",
            ]
        ),
        .testTarget(
            name: "BillsyncSandboxTests",
            dependencies: [
                "BillsyncSandbox",
                "BillsyncContracts",
                "BillsyncTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BillsyncContractsTests",
            dependencies: ["BillsyncContracts", "BillsyncJSON", "BillsyncTestSupport"]
        ),
        .testTarget(
            name: "BillsyncOperationsTests",
            dependencies: [
                "BillsyncTopics","BillsyncOperations", "BillsyncBenchmarks", "BillsyncTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
