import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// `/healthz` (the process is alive), `/readyz` (it joined its group and can work) and
/// `/metrics` (Prometheus text) for the orchestrator and the scraper.
public struct OperationsServer: Service {
    private let application: Application<RouterResponder<BasicRequestContext>>

    public init(host: String, port: Int, registry: PrometheusCollectorRegistry,
                isReady: @escaping @Sendable () async -> Bool, logger: Logger) {
        let router = Router()
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            let ready = await isReady()
            return Response(status: ready ? .ok : .serviceUnavailable,
                            body: ResponseBody(byteBuffer: ByteBuffer(string: ready ? "ready\n" : "not ready\n")))
        }
        router.get("metrics") { _, _ -> Response in
            var text: [UInt8] = []
            registry.emit(into: &text)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
        }
        application = Application(router: router, configuration: .init(address: .hostname(host, port: port)),
                                  logger: logger)
    }

    public func run() async throws {
        try await application.run()
    }
}
