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
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
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
                "BillsyncTopics", "BillsyncHTTP",
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
        // The process's one HTTP client (async-http-client: a connection pool per host, deadlines,
        // TLS through NIO), run by the worker's service group and shut down with it.
        .target(
            name: "BillsyncHTTP",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
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
                "BillsyncExtractor", "BillsyncHTTP",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // glibc's posix_spawn extensions, for starting child processes without Foundation's Process.
        .target(name: "CSpawn"),
        // Helpers for tests that talk to a real broker or PostgreSQL: addresses, unique names, waiting for a condition.
        .target(
            name: "BillsyncTestSupport",
            dependencies: [
                "CSpawn",
                "BillsyncKafka", "BillsyncHTTP",
                "BillsyncPostgres",
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
        // PostgreSQL access for the extractor's SQL source and the loader's replica sink, over
        // postgres-nio: connection strings, a pool run as a service, text rows, classified errors.
        .target(
            name: "BillsyncPostgres",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The rule vocabulary both mapping files share (the sources' and the transformer's): one
        // implementation of trim, number and date formats, value maps, checks, and their YAML.
        .target(name: "BillsyncMapping", dependencies: ["BillsyncContracts", "BillsyncJSON", .product(name: "Yams", package: "Yams")]),
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
                "BillsyncContracts", "BillsyncJSON", "BillsyncCSV", "BillsyncPostgres", "BillsyncKafka", "BillsyncMapping", "BillsyncBlocking",
                "BillsyncHTTP",
                .product(name: "Crypto", package: "swift-crypto"),
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
        .target(
            name: "BillsyncSandbox",
            dependencies: [
                "BillsyncBlocking",
                "BillsyncContracts",
                "BillsyncCSV",
                "BillsyncSQLite",
                // RS256 verification of JWT bearer assertions, the key read from the connected app's certificate.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
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
                "BillsyncTopics", "BillsyncHTTP",
                "BillsyncExtractor", "BillsyncContracts", "BillsyncKafka", "BillsyncRuntime", "BillsyncPostgres",
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
                "BillsyncRuntime", "BillsyncTopics", "BillsyncKafka", "BillsyncContracts", "BillsyncPostgres", "BillsyncCSV", "BillsyncHTTP",
                "BillsyncSalesforce",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Salesforce's REST API as billsync uses it (sessions, sObject Collections, Bulk API 2.0,
        // describe, read-back, the API budget): shared by the loader and the alerter's reconciliation.
        .target(
            name: "BillsyncSalesforce",
            dependencies: [
                "BillsyncRuntime", "BillsyncContracts", "BillsyncCSV", "BillsyncHTTP", "BillsyncJSON",
                // RS256 signing of the JWT bearer flow's assertions.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Crypto", package: "swift-crypto"),
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
                "BillsyncLoader", "BillsyncSalesforce", "BillsyncRuntime", "BillsyncContracts", "BillsyncKafka", "BillsyncPostgres", "BillsyncSandbox",
                "BillsyncTestSupport", "BillsyncOperations", "billsync-loader", "BillsyncHTTP",
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
                "BillsyncOperations", "BillsyncSalesforce", "BillsyncMapping", "BillsyncBlocking", "BillsyncHTTP",
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
                "BillsyncOperations", "BillsyncSalesforce", "BillsyncSandbox", "BillsyncTestSupport", "billsync-alerter",
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
                "BillsyncSandbox", "BillsyncHTTP",
                "BillsyncContracts",
                "BillsyncTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "BillsyncPostgresTests", dependencies: ["BillsyncPostgres"]),
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

/// How a release executable is linked on Linux: what ships (Deploy/Dockerfile) and what the
/// benchmarks measure. A worker's resident memory is mostly code, and the kernel maps code in
/// 64 KiB windows around each page a process touches, so code that runs scattered over a large
/// executable costs far more than its size. lld places the functions a worker runs
/// (`Deploy/link-order.txt`, recorded by `scripts/link-order.sh`) next to each other, and packs
/// the executable's relocations (`DT_RELR`, glibc 2.36 and later) so that start-up reads 25 KB
/// of them, not 3 MB. A function missing from the list is placed as before, so a stale list
/// costs memory, never correctness.
let releaseLinking: [LinkerSetting] = [
    .unsafeFlags([
        "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
        "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Deploy/link-order.txt",
        "-Xlinker", "--no-warn-symbol-ordering",
    ], .when(platforms: [.linux], configuration: .release)),
]
for target in package.targets where target.type == .executable {
    target.linkerSettings = (target.linkerSettings ?? []) + releaseLinking
}
