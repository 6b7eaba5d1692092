import Foundation

// The parts of `sync-report.v1` that only the fleet-wide report has: the accounting per flow,
// the dead letters by reason, the CRM reconciliation, API calls, stage timings and the period.
extension SyncReport {
    /// Records of one entity into one object, in one direction, and where each ended.
    public struct Flow: Codable, Sendable, Hashable {
        public enum Direction: String, Codable, Sendable, Hashable {
            case toSalesforce = "to-salesforce"
            case toBilling = "to-billing"
            /// Hierarchy totals the roll-up computed (not extracted records).
            case rollup
        }

        /// The CRM object (`Account`), or `billing upload` for readings sent back to billing.
        public var object: String
        /// The billing entity the records came from (`account`), or `hierarchy totals`.
        public var from: String
        public var direction: Direction
        public var extracted: Int
        public var transformed: Int
        /// Handled and left alone: the CRM already had these values (the ledger's "unchanged").
        public var suppressed: Int
        public var created: Int
        public var updated: Int
        public var deadLettered: Int
        public var retrying: Int
        /// Not yet handled by a stage.
        public var pending: Int
        /// Handled without any outcome: lost records.
        public var unaccounted: Int

        public init(object: String, from: String, direction: Direction, extracted: Int = 0, transformed: Int = 0, suppressed: Int = 0,
                    created: Int = 0, updated: Int = 0, deadLettered: Int = 0, retrying: Int = 0, pending: Int = 0, unaccounted: Int = 0) {
            self.object = object
            self.from = from
            self.direction = direction
            self.extracted = extracted
            self.transformed = transformed
            self.suppressed = suppressed
            self.created = created
            self.updated = updated
            self.deadLettered = deadLettered
            self.retrying = retrying
            self.pending = pending
            self.unaccounted = unaccounted
        }
    }

    /// Dead letters of one stage with one error code on one field.
    public struct DeadLetterGroup: Codable, Sendable, Hashable {
        public var stage: String
        public var code: String
        /// The failing field (a JSON pointer, or a file's column); null when none is known.
        @ExplicitNull public var field: String?
        /// The first dead letter's message.
        public var reason: String
        public var count: Int
        /// Up to three business keys or file lines to look at.
        public var examples: [String]
        /// The operator command that redrives the group.
        public var command: String

        public init(stage: String, code: String, field: String?, reason: String, count: Int, examples: [String], command: String) {
            self.stage = stage
            self.code = code
            self.field = field
            self.reason = reason
            self.count = count
            self.examples = examples
            self.command = command
        }
    }

    /// A CRM record named by its object and external id.
    public struct RecordReference: Codable, Sendable, Hashable {
        public var object: String
        public var externalId: String

        public init(object: String, externalId: String) {
            self.object = object
            self.externalId = externalId
        }
    }

    /// Loaded records read back from the CRM, each compared with the last values billsync sent.
    public struct Reconciliation: Codable, Sendable, Hashable {
        /// One field whose value in the CRM is not the one billsync sent last.
        public struct Mismatch: Codable, Sendable, Hashable {
            public var object: String
            public var externalId: String
            public var field: String
            /// As sent (null: sent empty).
            @ExplicitNull public var expected: String?
            /// As the CRM holds it (null: empty).
            @ExplicitNull public var actual: String?

            public init(object: String, externalId: String, field: String, expected: String?, actual: String?) {
                self.object = object
                self.externalId = externalId
                self.field = field
                self.expected = expected
                self.actual = actual
            }
        }

        /// A record that could not be read back, and why.
        public struct Unreadable: Codable, Sendable, Hashable {
            public var object: String
            public var externalId: String
            public var reason: String

            public init(object: String, externalId: String, reason: String) {
                self.object = object
                self.externalId = externalId
                self.reason = reason
            }
        }

        /// Records read back.
        public var sampled: Int
        /// Records whose every field matched.
        public var matched: Int
        public var mismatched: [Mismatch]
        /// Records loaded by billsync that the CRM does not have.
        public var missing: [RecordReference]
        public var unreadable: [Unreadable]?

        public init(sampled: Int, matched: Int, mismatched: [Mismatch], missing: [RecordReference], unreadable: [Unreadable]? = nil) {
            self.sampled = sampled
            self.matched = matched
            self.mismatched = mismatched
            self.missing = missing
            self.unreadable = unreadable
        }

        /// A decimal as values are compared: minimal digits, no exponent (`12.50` and `12.5`
        /// both read `12.5`), so a number sent and the CRM's answer compare as text.
        public static func comparable(_ decimal: Decimal) -> String {
            var value = decimal
            var rounded = Decimal()
            NSDecimalRound(&rounded, &value, 18, .plain)
            return "\(rounded)"
        }
    }

    /// How long a stage took over the run.
    public struct StageTiming: Codable, Sendable, Hashable {
        public var stage: String
        public var seconds: Double

        /// `seconds` is kept to the millisecond.
        public init(stage: String, seconds: Double) {
            self.stage = stage
            self.seconds = (max(0, seconds) * 1000).rounded() / 1000
        }
    }

    /// Where the records of one billing cycle and type ended.
    public struct BillingCycle: Codable, Sendable, Hashable {
        /// `YYYY-MM`: the month of a bill's last bill date, of a reading's date.
        public var cycle: String
        /// The record type, e.g. `billing-bill`.
        public var type: String
        public var extracted: Int
        /// Created or updated in the CRM.
        public var loaded: Int
        public var suppressed: Int
        public var deadLettered: Int
        /// Pending, retrying or unaccounted for.
        public var open: Int

        public init(cycle: String, type: String, extracted: Int = 0, loaded: Int = 0, suppressed: Int = 0, deadLettered: Int = 0, open: Int = 0) {
            self.cycle = cycle
            self.type = type
            self.extracted = extracted
            self.loaded = loaded
            self.suppressed = suppressed
            self.deadLettered = deadLettered
            self.open = open
        }
    }

    /// The window of time a report covers.
    public struct Period: Codable, Sendable, Hashable {
        public var from: Timestamp
        public var to: Timestamp

        public init(from: Timestamp, to: Timestamp) {
            self.from = from
            self.to = to
        }
    }
}
