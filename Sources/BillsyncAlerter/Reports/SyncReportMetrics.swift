import BillsyncContracts

/// The names under which the HTML report marks each number (`data-metric="<key>.<field>"`), so
/// a rendered page can be checked against the JSON. The field never contains a dot; the key may.
///
/// - `counts.<count>`; `run.apiCalls`
/// - `flow:<object>|<from>|<direction>.<count>` for each count of a flow
/// - `group:<stage>|<code>|<field or empty>.count`
/// - `reconciliation.sampled`, `.matched`, and `.mismatched`, `.missing`, `.unreadable` (list lengths)
/// - `timing:<stage>.seconds`
/// - `cycle:<type>|<cycle>.<count>` for each count of a billing cycle
public enum SyncReportMetrics {
    public static func key(_ flow: SyncReport.Flow) -> String { "flow:\(flow.object)|\(flow.from)|\(flow.direction.rawValue)" }
    public static func key(_ group: SyncReport.DeadLetterGroup) -> String { "group:\(group.stage)|\(group.code)|\(group.field ?? "")" }
    public static func key(_ timing: SyncReport.StageTiming) -> String { "timing:\(timing.stage)" }
    public static func key(_ cycle: SyncReport.BillingCycle) -> String { "cycle:\(cycle.type)|\(cycle.cycle)" }
}
