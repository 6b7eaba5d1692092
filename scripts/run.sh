#!/usr/bin/env bash
# The run command: the whole fleet on a local broker and sample data, from nothing.
#   bash scripts/run.sh [--accounts N]      (or BILLSYNC_SAMPLE_ACCOUNTS; default 1000)
# Installs what is missing, starts a local broker (unless KAFKA_BROKERS names one), builds every
# executable, creates the fleet's topics, proves a round trip through the broker, generates sample
# billing data (accounts, bills, premises, meter readings, with deliberate bad rows), starts the
# Salesforce and billing emulators and the workers (transformer, roll-up, loader into Salesforce,
# loader back to billing, alerter), extracts the sample, follows the run stage by stage, prints where
# every record ended, and ends with the path of the alerter's HTML sync report of the run. Exits
# non-zero when the accounting does not close. Ctrl-C or an error stops everything it started.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$BILLSYNC_ROOT"

accounts="${BILLSYNC_SAMPLE_ACCOUNTS:-1000}"
while [ $# -gt 0 ]; do
    case "$1" in
        --accounts) accounts="$2"; shift 2 ;;
        *) echo "usage: $0 [--accounts N]" >&2; exit 2 ;;
    esac
done
trap 'exit 130' INT
trap 'exit 143' TERM

bash scripts/setup.sh
use_broker

log "building every executable the run starts (the first build takes a few minutes)"
swift build --quiet
bin=$(swift build --show-bin-path)

export BILLSYNC_TOPIC_PREFIX="${BILLSYNC_TOPIC_PREFIX:-billsync}"
run="$BILLSYNC_RUN_DIR/sample-run"
rm -rf "$run" && mkdir -p "$run/drop" "$run/logs" && : >"$run/figures"
logs="$run/logs"
# The emulated Salesforce org lives as long as the fleet's topics: what billsync remembers as
# loaded (the compacted crm.loaded topic) must be what the org holds, or an unchanged record would
# be suppressed against an org that never received it. A new broker (its topics live in memory)
# or another prefix starts a new org; a second run on the same broker finds its records there
# (and reports them unchanged).
org="$BILLSYNC_RUN_DIR/salesforce-org"
fleet="$KAFKA_BROKERS|$(cat "$BILLSYNC_RUN_DIR/tansu.pid" 2>/dev/null || echo external)|$BILLSYNC_TOPIC_PREFIX"
if [ "$(cat "$org/fleet" 2>/dev/null)" != "$fleet" ]; then
    rm -rf "$org" && mkdir -p "$org" && printf '%s' "$fleet" >"$org/fleet"
fi
log "workers' logs: $logs"

"$bin/billsync" topics ensure --apply
"$bin/billsync" check --messages "${BILLSYNC_CHECK_MESSAGES:-1000}"
"$bin/billsync-sandbox" generate --accounts "$accounts" --output "$run/generated" --billing-store "$run/billing.sqlite"
cp "$run/generated/billing_export.csv" "$run/generated/meter_readings.csv" "$run/generated/tariffs.csv" \
    "$run/generated/product_catalog.csv" "$run/drop/"

# Starts a program in the background with its output in $logs/NAME.log; it is stopped (SIGTERM,
# then SIGKILL after a grace period) when this script ends, however it ends.
workers=""
named_pids=""
start() {  # name, command...
    local name=$1; shift
    "$@" >"$logs/$name.log" 2>&1 &
    BILLSYNC_WORKER_PIDS="$BILLSYNC_WORKER_PIDS $!"
    named_pids="$named_pids $name=$!"
    [ "$name" = sandbox ] || workers="$workers $!"
}
# Peak memory and CPU time of a program run in the foreground, for the figures at the end.
measured() {  # name, command...
    local name=$1; shift
    /usr/bin/time -f "$name %M %U %S" -a -o "$run/figures" "$@"
}
# Peak memory (VmHWM) and CPU time of the programs started in the background, read while they
# still run (just before they are stopped).
record_figures() {
    local entry name pid ticks
    ticks=$(getconf CLK_TCK)
    for entry in $named_pids; do
        name=${entry%%=*}; pid=${entry#*=}
        [ -r "/proc/$pid/status" ] || continue
        awk -v name="$name" -v ticks="$ticks" -v stat="$(cut -d')' -f2- "/proc/$pid/stat")" '
            /^VmHWM:/ { split(stat, f, " "); printf "%s %d %.2f %.2f\n", name, $2, f[12] / ticks, f[13] / ticks }
        ' "/proc/$pid/status" >>"$run/figures"
    done
}

# The emulators stand in for the Salesforce org and the billing engine; the loaders log in with
# credentials from their environment, as they would in production.
sandbox_port="${BILLSYNC_SANDBOX_PORT:-18090}"
sandbox="http://127.0.0.1:$sandbox_port"
# Salesforce grants client credentials only on the org's My Domain, never on login.salesforce.com;
# the emulator's stand-in for its My Domain is this path (the loader refuses a generic login host).
my_domain="$sandbox/billsync-sandbox.my.salesforce.com"
BILLSYNC_SANDBOX_SF_CLIENT_SECRET=sandbox-secret BILLSYNC_SANDBOX_BILLING_TOKEN=sandbox-billing-token \
    start sandbox "$bin/billsync-sandbox" serve --port "$sandbox_port" --data "$org/salesforce.sqlite" --billing-data "$run/billing.sqlite"
for _ in $(seq 1 300); do curl -sf "$sandbox/sandbox/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "$sandbox/sandbox/healthz" >/dev/null || { log "the sandbox did not start; see $logs/sandbox.log"; exit 1; }

# Short retry tiers for the sample (production defaults: 30 s, then 5 min), so a record that
# fails transiently or can never load reaches its end while this waits.
export BILLSYNC_HTTP_HOST=127.0.0.1 BILLSYNC_LOG_LEVEL=info BILLSYNC_RETRY_TIERS="5s,10s"
BILLSYNC_HTTP_PORT="${BILLSYNC_TRANSFORMER_PORT:-19464}" \
    start transformer "$bin/billsync-transformer"
BILLSYNC_HTTP_PORT="${BILLSYNC_ROLLUP_PORT:-19465}" BILLSYNC_TRANSFORMER_STATE="$run/rollup-cache.sqlite" \
    start rollup "$bin/billsync-transformer" --role rollup
BILLSYNC_HTTP_PORT="${BILLSYNC_LOADER_PORT:-19466}" SALESFORCE_LOGIN_URL="$my_domain" \
    SALESFORCE_CLIENT_ID=billsync-sandbox SALESFORCE_CLIENT_SECRET=sandbox-secret \
    start loader "$bin/billsync-loader"
BILLSYNC_HTTP_PORT="${BILLSYNC_BILLING_LOADER_PORT:-19467}" BILLSYNC_LOADER_BILLING_URL="$sandbox" \
    BILLSYNC_LOADER_BILLING_TOKEN=sandbox-billing-token \
    start loader-billing "$bin/billsync-loader" --sink billing
# The alerter: its alerts go to its log and the alerts topic (no webhook, Slack, PagerDuty or mail
# here), and it writes the run's sync report. The sample's run is short: its counts are checked 5 s
# after extraction and again every 5 s until they add up (production default: 10 minutes).
cat >"$run/alert-rules.yaml" <<'RULES'
discrepancy:
  settle: 5s
lifecycle:
  groupWait: 5s
  evaluationInterval: 2s
RULES
BILLSYNC_HTTP_PORT="${BILLSYNC_ALERTER_PORT:-19469}" BILLSYNC_REPORTS_DIR="$run/reports" BILLSYNC_ALERT_RULES="$run/alert-rules.yaml" \
    SALESFORCE_LOGIN_URL="$my_domain" SALESFORCE_CLIENT_ID=billsync-sandbox SALESFORCE_CLIENT_SECRET=sandbox-secret \
    start alerter "$bin/billsync-alerter"

# Each run is its own source: a broker kept running between runs still has the checkpoint of the
# previous run's files (same content), which would rightly be skipped.
source_name="sample-$(date -u +%Y%m%dT%H%M%S)"
started=$(date +%s.%N)  # the sync's elapsed time: from extraction to the last record's end
log "extracting $run/drop (source $source_name)"
BILLSYNC_HTTP_PORT="${BILLSYNC_EXTRACTOR_PORT:-19468}" measured extractor "$bin/billsync-extractor" --csv-dir "$run/drop" --source "$source_name" --schedule once --topic-prefix "$BILLSYNC_TOPIC_PREFIX" >"$logs/extractor.log" 2>&1 \
    || { log "the extractor failed; see $logs/extractor.log"; exit 1; }

report=(env BILLSYNC_LOG_LEVEL=warning "$bin/billsync" report --source "$source_name-csv" --stages transformer,rollup,loader,loader-billing)
log "following the run until every record has ended (loaded, unchanged or dead-lettered)"
settled=0
measured "report --wait" "${report[@]}" --wait || settled=$?
finished=$(date +%s.%N)
[ "$settled" -eq 0 ] || log "the run did not settle (exit $settled); the table below says which records are open"

# The alerter's final report of this run: the one it logs once the run's counts add up.
final_report() {
    python3 - "$logs/alerter.log" "$source_name-csv" <<'PY'
import json, sys
path = ""
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    if entry.get("message") == "sync report written" and entry.get("billsync.source") == sys.argv[2] \
            and entry.get("billsync.final") == "true":
        path = entry.get("billsync.report", "")
print(path)
PY
}
sync_report=""
if [ "$settled" -eq 0 ]; then
    log "waiting for the alerter's sync report of this run"
    for _ in $(seq 1 300); do
        sync_report=$(final_report)
        [ -n "$sync_report" ] && break
        sleep 0.2
    done
    [ -n "$sync_report" ] || log "the alerter wrote no final report within a minute; see $logs/alerter.log"
fi
# What the alerter told ops during the run (its log channel), one line per notification.
alerts_told=$(python3 - "$logs/alerter.log" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    if entry.get("message", "").startswith("alert "):
        print(f"  [{entry.get('alert.severity', '?')}] {entry['message'][len('alert '):]}")
PY
)

# Stop the workers as an orchestrator would (SIGTERM: they finish, commit and leave their groups),
# then read the API calls from the Salesforce side, the system of record.
record_figures
# shellcheck disable=SC2086 # a list of PIDs
stop_processes $workers
for pid in $workers; do BILLSYNC_WORKER_PIDS=${BILLSYNC_WORKER_PIDS/ $pid/}; done
api_calls=$(curl -sf "$sandbox/sandbox/salesforce/api-usage" | tr -d ' ' | sed -n 's/.*"used":\([0-9]*\).*/\1/p' || true)
elapsed=$(awk -v from="$started" -v to="$finished" 'BEGIN { printf "%.1f", to - from }')
echo
status=0
"${report[@]}" --anomalies "$run/generated/anomalies.json" --api-calls "${api_calls:-0}" --elapsed "$elapsed" || status=$?
counts=""
duplicates=0
for object in Account Service_Point__c Meter_Reading__c Product2; do
    counts="$counts $object=$(curl -sf "$sandbox/sandbox/salesforce/$object/count" | tr -dc '0-9' || true)"
    created_twice=$(curl -sf "$sandbox/sandbox/salesforce/$object/duplicate-creates" | tr -d ' ' | sed -n 's/.*"duplicateCreates":\([0-9]*\).*/\1/p' || true)
    duplicates=$((duplicates + ${created_twice:-0}))
done
uploads=$(curl -sf "$sandbox/sandbox/billing/uploads/meter-readings/count" | tr -dc '0-9' || true)
echo "Salesforce emulator holds:$counts ($duplicates external ids created more than once); billing engine received ${uploads:-?} meter-reading uploads"
echo
echo "sample data:  $run/generated (anomalies.json lists the deliberate bad rows)"
echo "drop folder:  $run/drop (processed/ holds the files read)"
echo "worker logs:  $logs"
# Each process's peak memory and CPU, and the observers' share of the pipeline's CPU.
python3 - "$run/figures" "$logs/alerter.log" <<'PY'
import json, sys
rows = []
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 4 and parts[-3].isdigit():
        rows.append((" ".join(parts[:-3]), int(parts[-3]) / 1024, float(parts[-2]) + float(parts[-1])))
pipeline = sum(cpu for name, _, cpu in rows if name in ("extractor", "transformer", "rollup", "loader", "loader-billing"))
observers = sum(cpu for name, _, cpu in rows if name in ("alerter", "report --wait"))
print("process           peak RSS   CPU s")
for name, rss, cpu in rows:
    print(f"{name:<16} {rss:7.1f} MB {cpu:7.1f}")
if pipeline > 0:
    print(f"observers (alerter, report --wait): {100 * observers / pipeline:.1f} % of the pipeline's CPU ({pipeline:.1f} s)")
pages, causes = 0, set()
for line in open(sys.argv[2], encoding="utf-8", errors="replace"):
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    if entry.get("alert.reason") in ("opened", "grew") and "alert.annotation" not in entry:
        pages += 1
        causes.add(entry.get("alert.group"))
print(f"pages: {pages} for {len(causes)} root causes")
PY
echo
if [ -n "$alerts_told" ]; then
    echo "Alerts told during the run (log channel; also on the topic $BILLSYNC_TOPIC_PREFIX.alerts):"
    echo "$alerts_told"
    echo
fi
[ -n "$sync_report" ] || [ "$status" -ne 0 ] || status=1
[ -z "$sync_report" ] || echo "sync report:  $sync_report"
exit "$status"
