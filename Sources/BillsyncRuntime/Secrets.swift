import Foundation

/// How every billsync program reads a secret: `NAME` from the environment, or else the contents
/// of the file `NAME_FILE` names (a mounted Kubernetes Secret). Never from arguments, and the
/// value never appears in an error.
public enum Secrets {
    public struct Unreadable: Error, CustomStringConvertible {
        public let description: String
    }

    /// The secret, trimmed of surrounding white space; nil when neither variable is set.
    public static func read(_ name: String, from environment: [String: String]) throws -> String? {
        if let value = environment[name], !value.isEmpty { return value }
        guard let file = environment["\(name)_FILE"] else { return nil }
        do {
            return try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw Unreadable(description: "\(name)_FILE: cannot read \(file)")
        }
    }
}
