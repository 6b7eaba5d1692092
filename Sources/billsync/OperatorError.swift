import ArgumentParser
import BillsyncKafka

/// Errors the operator tool ends with, each with the exit code the README documents, so a
/// script can tell "the broker is down" from "you asked for something that does not exist"
/// from "it ran and failed".
enum OperatorError: Error, CustomStringConvertible {
    /// The broker did not answer (exit 69).
    case unreachable([String], KafkaError)
    /// A topic the command needs does not exist (exit 66).
    case missingTopics([String])
    /// The cluster differs from the catalog and `--apply` was not given or could not fix it (exit 3).
    case drift(String)
    /// Refused for a reason the operator can remove, e.g. a group with active members (exit 4).
    case refused(String)
    /// Stopped by Ctrl-C; what was done is recorded and can be resumed (exit 130).
    case interrupted(String)
    /// It ran and failed part-way; what was done is recorded (exit 1).
    case failed(String)

    var description: String {
        switch self {
        case let .unreachable(brokers, error):
            "cannot reach Kafka at \(brokers.joined(separator: ",")) (set KAFKA_BROKERS): \(error.message)"
        case let .missingTopics(topics):
            "missing topic\(topics.count == 1 ? "" : "s") \(topics.joined(separator: ", ")): `billsync topics ensure --apply` creates the fleet's topics"
        case let .drift(text), let .refused(text), let .interrupted(text), let .failed(text):
            text
        }
    }

    var exitCode: ExitCode {
        switch self {
        case .unreachable: ExitCode(69)
        case .missingTopics: ExitCode(66)
        case .drift: ExitCode(3)
        case .refused: ExitCode(4)
        case .interrupted: ExitCode(130)
        case .failed: ExitCode.failure
        }
    }

    static func isUnreachable(_ error: KafkaError) -> Bool {
        ["_TRANSPORT", "_ALL_BROKERS_DOWN", "_RESOLVE"].contains(error.codeName)
    }
}
