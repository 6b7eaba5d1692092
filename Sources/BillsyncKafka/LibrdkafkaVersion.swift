import CRdKafka
import Logging

import Foundation

/// The librdkafka that this process actually loaded, and the check that it can talk to modern brokers.
public enum Librdkafka {
    /// librdkafka before 2.2.0 mis-skips tagged fields in ApiVersions responses and cannot
    /// complete the handshake with current brokers ("Read underflow").
    public static let minimumVersion = (major: 2, minor: 2, patch: 0)

    /// The loaded version as `major.minor.patch`.
    public static var version: String {
        let raw = Int(rd_kafka_version())
        return "\((raw >> 24) & 0xFF).\((raw >> 16) & 0xFF).\((raw >> 8) & 0xFF)"
    }

    /// The path of the shared library the dynamic loader picked, read from `/proc/self/maps`
    /// (Linux only): with two librdkafkas installed side by side, this is the one that matters.
    public static var loadedPath: String? {
        // /proc files report size 0, so read to the end rather than by size; `readToEnd` throws
        // where `readDataToEndOfFile` would trap (an interrupted read).
        guard let file = FileHandle(forReadingAtPath: "/proc/self/maps"), let data = try? file.readToEnd() else { return nil }
        let maps = String(decoding: data, as: UTF8.self)
        for line in maps.split(separator: "\n") where line.contains("librdkafka.so") {
            if let path = line.split(separator: " ", omittingEmptySubsequences: true).last {
                return String(path)
            }
        }
        return nil
    }

    public static var isSupported: Bool {
        let raw = Int(rd_kafka_version())
        let loaded = ((raw >> 24) & 0xFF, (raw >> 16) & 0xFF, (raw >> 8) & 0xFF)
        return loaded >= minimumVersion
    }

    /// Throws a message naming the loaded version and the fix when librdkafka is too old.
    /// Every executable calls this at startup; clients call it again before creating a handle.
    public static func requireSupportedVersion() throws(KafkaError) {
        guard !isSupported else { return }
        let path = loadedPath.map { " from \($0)" } ?? ""
        throw KafkaError(
            kind: .unsupportedLibrary,
            message: """
                librdkafka \(version) was loaded\(path), but billsync needs 2.2.0 or newer \
                (older versions cannot complete the ApiVersions handshake with current brokers). \
                Run scripts/setup.sh to build librdkafka 2.8.0 into /usr/local, or make the \
                dynamic loader find a newer librdkafka.so.1 first (LD_LIBRARY_PATH or ldconfig).
                """
        )
    }

    static func logLevel(syslogLevel level: Int32) -> Logger.Level {
        switch level {
        case ...2: .critical
        case 3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
    }
}
