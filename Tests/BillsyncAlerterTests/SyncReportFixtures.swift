import BillsyncContracts
import BillsyncJSON
import BillsyncKafka
@testable import BillsyncOperations
import BillsyncTestSupport
import BillsyncTopics
import Foundation

/// A fleet's topics written by hand, as `FleetTopicReader` would find them: raw records,
/// upserts (with their fields sampled), results, dead letters, retry copies, committed offsets.
struct FleetScript {
    var facts = FleetFacts()
    var offsets: [String: Int64] = [:]

    mutating func position(_ topic: String) -> FleetFacts.Position {
        let offset = offsets[topic, default: 0]
        offsets[topic] = offset + 1
        return FleetFacts.Position(topic: topic, partition: 0, offset: offset)
    }

    mutating func raw(_ id: String, type: String = "billing-account", key: String, line: Int? = nil) {
        facts.raw.append(FleetFacts.RawRecord(id: id, type: type, businessKey: key, sourceName: "run-1", position: position("raw.\(type)"),
                                              file: "export.csv", line: line,
                                              billingCycle: ["billing-bill", "billing-meter-reading"].contains(type) ? "2026-11" : nil))
    }

    /// An upsert made from `cause`; its fields are sampled as the reader samples them.
    mutating func upsert(_ id: String, from cause: String, object: String = "Account", externalIdField: String = "Billing_Customer_Id__c",
                         externalId: String? = nil, fields: [String: CRMFieldValue] = [:], by stage: Stage = .transformer) {
        let command = CRMUpsert(object: object, externalIdField: externalIdField, externalId: externalId ?? id, fields: fields)
        facts.upserts.append(FleetFacts.Upsert(id: id, causationId: cause, object: object, externalId: command.externalId, writtenBy: stage,
                                               position: position("upserts")))
        facts.samples.keep(id: id, payload: command.jsonValue())
    }

    mutating func result(for cause: String, _ outcome: String, object: String = "Account") {
        facts.results.append(FleetFacts.LoadResult(causationId: cause, sink: "salesforce", object: object, outcome: outcome))
    }

    mutating func deadLetter(_ id: String?, stage: Stage, code: String, field: String? = nil, reason: String? = nil, example: String? = nil,
                             file: String? = nil, line: Int? = nil) {
        facts.deadLetters.append(FleetFacts.DeadLetter(stage: stage, originalId: id, code: code, reason: reason ?? "\(code) on \(field ?? "-")",
                                                       field: field, example: example ?? id ?? "\(file ?? "") line \(line ?? 0)",
                                                       source: "run-1", file: file, line: line, failedAt: nil))
    }

    mutating func retrying(_ id: String, at stage: Stage) {
        facts.retryCopies.append(FleetFacts.RetryCopy(stage: stage, originalId: id, position: position("\(stage).retry.1")))
    }

    /// The stage committed everything written so far to this topic.
    mutating func caughtUp(_ stage: Stage, on topic: String) {
        facts.committed[stage, default: [:]][KafkaTopicPartition(topic: topic, partition: 0)] = offsets[topic, default: 0]
    }

    func ledger() -> SyncLedger {
        SyncLedger(facts: facts, sources: ["run-1"], objects: ["billing-account": "Account", "billing-meter-reading": "Meter_Reading__c"])
    }
}

/// Headless Chromium (Debian's `chromium`, installed by scripts/setup.sh), run as a program.
enum HeadlessChromium {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static var executable: String? {
        let candidates = [ProcessInfo.processInfo.environment["BILLSYNC_CHROMIUM"], "/usr/bin/chromium", "/usr/bin/chromium-browser"]
        return candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The page's DOM after Chromium loaded it.
    static func dumpDOM(of page: URL) async throws -> String {
        String(decoding: try await run(["--dump-dom", page.absoluteString]), as: UTF8.self)
    }

    /// A PNG of the page as Chromium renders it.
    static func screenshot(of page: URL, to png: URL, width: Int = 1280, height: Int = 2000) async throws {
        try? FileManager.default.removeItem(at: png)
        _ = try await run(["--screenshot=\(png.path)", "--window-size=\(width),\(height)", "--hide-scrollbars", page.absoluteString])
    }

    /// Runs Chromium with a fresh profile; its standard output, or a failure with its errors.
    /// Waits on the process's termination handler, not on a blocked thread, 90 s at most.
    static func run(_ arguments: [String]) async throws -> Data {
        guard let executable else { throw Failure(description: "chromium is not installed: run scripts/setup.sh (apt-get install chromium)") }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                         "--user-data-dir=\(scratch.appendingPathComponent("profile").path)"] + arguments
        let outcome = try await ChildProcess.run(URL(fileURLWithPath: executable), arguments: arguments)
        guard outcome.status == 0 else {
            throw Failure(description: "chromium \(outcome.termination): \(String(outcome.errorText.suffix(2000)))")
        }
        return outcome.output
    }

    /// `data-metric` name → the number in the element, from a serialized DOM.
    static func metrics(inDOM dom: String) throws -> [String: Double] {
        let pattern = try NSRegularExpression(pattern: #"<[a-z]+[^>]*\sdata-metric="([^"]*)"[^>]*>([^<]*)<"#)
        var found: [String: Double] = [:]
        for match in pattern.matches(in: dom, range: NSRange(dom.startIndex..., in: dom)) {
            let name = unescape(String(dom[Range(match.range(at: 1), in: dom)!]))
            let text = String(dom[Range(match.range(at: 2), in: dom)!]).trimmingCharacters(in: .whitespaces)
            guard let value = Double(text) else { throw Failure(description: "\(name) holds \"\(text)\", not a number") }
            guard found[name] == nil else { throw Failure(description: "\(name) appears twice") }
            found[name] = value
        }
        return found
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&nbsp;", with: "\u{A0}").replacingOccurrences(of: "&amp;", with: "&")
    }
}

/// Every number of a `sync-report.v1` message, read from its JSON (not from the Swift type),
/// under the name the HTML page marks it with (`SyncReportMetrics`).
enum ReportNumbers {
    struct Unnamed: Error, CustomStringConvertible {
        let description: String
    }

    static func expected(fromMessage bytes: [UInt8]) throws -> [String: Double] {
        let payload = try JSONParser.parse(bytes)["payload"] ?? .null
        var numbers: [String: Double] = [:]
        func number(_ value: JSONValue?) -> Double? {
            if case let .number(number)? = value { return Double(number.text) }
            return nil
        }
        func members(_ value: JSONValue?) -> [(String, JSONValue)] {
            guard case let .object(object)? = value else { return [] }
            return object.keys.map { ($0, object[$0]!) }
        }
        func elements(_ value: JSONValue?) -> [JSONValue] {
            if case let .array(items)? = value { return items }
            return []
        }
        for (name, value) in members(payload) {
            switch name {
            case "counts": for (count, value) in members(value) { numbers["counts.\(count)"] = number(value) }
            case "apiCalls": numbers["run.apiCalls"] = number(value)
            case "flows":
                for flow in elements(value) {
                    let key = "flow:\(flow["object"]?.stringValue ?? "")|\(flow["from"]?.stringValue ?? "")|\(flow["direction"]?.stringValue ?? "")"
                    for (field, value) in members(flow) where number(value) != nil { numbers["\(key).\(field)"] = number(value) }
                }
            case "deadLetterGroups":
                for group in elements(value) {
                    numbers["group:\(group["stage"]?.stringValue ?? "")|\(group["code"]?.stringValue ?? "")|\(group["field"]?.stringValue ?? "").count"] = number(group["count"])
                }
            case "reconciliation":
                numbers["reconciliation.sampled"] = number(value["sampled"])
                numbers["reconciliation.matched"] = number(value["matched"])
                for list in ["mismatched", "missing", "unreadable"] { numbers["reconciliation.\(list)"] = Double(elements(value[list]).count) }
            case "stageTimings":
                for timing in elements(value) { numbers["timing:\(timing["stage"]?.stringValue ?? "").seconds"] = number(timing["seconds"]) }
            case "billingCycles":
                for cycle in elements(value) {
                    let key = "cycle:\(cycle["type"]?.stringValue ?? "")|\(cycle["cycle"]?.stringValue ?? "")"
                    for (field, value) in members(cycle) where number(value) != nil { numbers["\(key).\(field)"] = number(value) }
                }
            case "runId", "stage", "source", "startedAt", "finishedAt", "status", "period": continue
            default: throw Unnamed(description: "the payload's \(name) has no metric names in this test")
            }
        }
        return numbers.compactMapValues { $0 }
    }
}
