import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A real HTTP server on 127.0.0.1, on a port the system picks, standing in for a webhook,
/// Slack or PagerDuty: it keeps every request it gets and answers as scripted (say 500 twice,
/// then 202), so a test counts on the receiver's side what the channel sent.
final class LocalReceiver: Sendable {
    struct Answer: Sendable {
        var status: Int
        /// The `Retry-After` header, in seconds.
        var retryAfter: Int?
        var body = ""
        /// Answers with the request's path and body (a careless receiver echoing a secret).
        var echoesRequest = false

        static func status(_ status: Int, retryAfter: Int? = nil) -> Answer {
            Answer(status: status, retryAfter: retryAfter)
        }

        static func echoing(_ status: Int) -> Answer { Answer(status: status, echoesRequest: true) }
    }

    struct Received: Sendable {
        let path: String
        let body: Data

        /// The body as a JSON object.
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                throw ReceiverError(description: "the body is not a JSON object: \(String(decoding: body, as: UTF8.self))")
            }
            return object
        }
    }

    struct ReceiverError: Error, CustomStringConvertible {
        let description: String
    }

    private let script: [Answer]
    private let otherwise: Answer
    private let received = Mutex<[Received]>([])

    /// Answers request n with `script[n]`, every later one with `otherwise`.
    init(answering script: [Answer] = [], thenAnswering otherwise: Answer = .status(200)) {
        self.script = script
        self.otherwise = otherwise
    }

    /// Every request so far, in the order they came.
    var requests: [Received] { received.withLock { $0 } }
    var count: Int { received.withLock { $0.count } }

    private func take(_ request: Received) -> Answer {
        let index = received.withLock { requests in
            requests.append(request)
            return requests.count - 1
        }
        var answer = index < script.count ? script[index] : otherwise
        if answer.echoesRequest { answer.body = request.path + " " + String(decoding: request.body, as: UTF8.self) }
        return answer
    }

    /// Serves while `body` runs with the server's base URL, then shuts it down gracefully.
    func serving<T: Sendable>(_ body: (URL) async throws -> T) async throws -> T {
        var logger = Logger(label: "billsync.tests.receiver")
        logger.logLevel = .warning
        let router = Router()
        let respond = { @Sendable (request: Request, _: BasicRequestContext) async throws -> Response in
            let bytes = try await request.body.collect(upTo: 16 << 20)
            let answer = self.take(Received(path: request.uri.path, body: Data(bytes.readableBytesView)))
            var headers = HTTPFields()
            headers[.contentType] = "text/plain"
            if let retryAfter = answer.retryAfter { headers[.retryAfter] = "\(retryAfter)" }
            return Response(status: .init(code: answer.status), headers: headers,
                            body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
        }
        // "**" matches one or more path segments; the root has its own route.
        router.post("/", use: respond)
        router.post("**", use: respond)
        let (ports, announce) = AsyncStream.makeStream(of: Int.self)
        let application = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                                      onServerRunning: { channel in
                                          announce.yield(channel.localAddress?.port ?? 0)
                                          announce.finish()
                                      },
                                      logger: logger)
        let services = ServiceGroup(services: [application], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { announce.finish() }
                try await services.run()
            }
            do {
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next(), port > 0 else {
                    throw ReceiverError(description: "the receiver did not start listening")
                }
                let result = try await body(URL(string: "http://127.0.0.1:\(port)")!)
                await services.triggerGracefulShutdown()
                try await group.waitForAll()
                return result
            } catch {
                await services.triggerGracefulShutdown()
                try? await group.waitForAll()
                throw error
            }
        }
    }
}
