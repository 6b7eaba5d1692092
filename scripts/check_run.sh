#!/usr/bin/env bash
# Proves the run command as a newcomer meets it; the test command ends with this.
#  1. Ctrl-C in the middle of a run stops everything it started: no process of its session is
#     left, and its broker's, emulators' and workers' ports are free again.
#  2. Right after, the run at its full size (1,000 accounts, as the README runs it) completes and its accounting closes
#     (run.sh exits non-zero otherwise).
# The full run uses the test command's broker (KAFKA_BROKERS) under its own topic prefix, so
# what the tests left on the broker does not mix in; the interrupted run starts its own broker.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$BILLSYNC_ROOT"

ports=("${BILLSYNC_SANDBOX_PORT:-18090}" "${BILLSYNC_TRANSFORMER_PORT:-19464}" "${BILLSYNC_ROLLUP_PORT:-19465}"
       "${BILLSYNC_LOADER_PORT:-19466}" "${BILLSYNC_BILLING_LOADER_PORT:-19467}" "${BILLSYNC_EXTRACTOR_PORT:-19468}"
       "${BILLSYNC_ALERTER_PORT:-19469}")
interrupt_broker_port=19093
port_open() {
    python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}

log "check 1: Ctrl-C during a run stops everything it started"
out="$BILLSYNC_RUN_DIR/interrupted-run.log"
# Whatever happens below, nothing of the interrupted run outlives this check.
leader=""
cleanup() {
    if [ -n "$leader" ]; then kill -KILL -- "-$leader" 2>/dev/null || true; fi
    BILLSYNC_BROKER_PORT=$interrupt_broker_port BILLSYNC_RUN_DIR="$BILLSYNC_RUN_DIR/interrupted" bash scripts/broker.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
# As a terminal starts a command: its own session and process group, SIGINT not ignored (a
# background job of this script would inherit SIGINT ignored); Ctrl-C is SIGINT to that group.
env -u KAFKA_BROKERS BILLSYNC_BROKER_PORT=$interrupt_broker_port BILLSYNC_RUN_DIR="$BILLSYNC_RUN_DIR/interrupted" \
    python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.setsid(); os.execvp(sys.argv[1], sys.argv[1:])' \
    bash scripts/run.sh --accounts 200 >"$out" 2>&1 &
leader=$!
for _ in $(seq 1 3000); do
    grep -q "following the run" "$out" && break
    alive "$leader" || { log "the run ended before it could be interrupted; its output follows"; cat "$out" >&2; exit 1; }
    sleep 0.1
done
grep -q "following the run" "$out" || { log "the run never reached its workers; its output follows"; cat "$out" >&2; exit 1; }
kill -INT -- "-$leader"
for _ in $(seq 1 600); do alive "$leader" || break; sleep 0.1; done
if alive "$leader"; then log "the interrupted run had not ended 60 s after Ctrl-C"; kill -KILL -- "-$leader"; exit 1; fi
status=0; wait "$leader" || status=$?
left=$(pgrep -s "$leader" || true)
if [ -n "$left" ]; then
    log "processes of the interrupted run are still running:"; ps -o pid,args -p "$(echo $left | tr ' ' ',')" >&2
    kill -KILL $left 2>/dev/null || true
    exit 1
fi
for port in "${ports[@]}" "$interrupt_broker_port"; do
    if port_open "$port"; then log "port $port is still taken after the interrupted run"; exit 1; fi
done
[ "$status" -eq 130 ] || { log "the interrupted run exited $status, not 130 (interrupted)"; exit 1; }
leader=""
log "check 1 passed: exit 130, no process left, ports ${ports[*]} $interrupt_broker_port free"

log "check 2: the run at its full size, right after, closes its accounting and ends with its sync report"
full="$BILLSYNC_RUN_DIR/check-run-full.log"
BILLSYNC_TOPIC_PREFIX="billsync-runcheck-$(date -u +%H%M%S)" bash scripts/run.sh --accounts 1000 | tee "$full"
report=$(tail -n 1 "$full" | sed -n 's/^sync report: *//p')
[ -n "$report" ] && [ -s "$report" ] && [ -s "$(dirname "$report")/report.json" ] \
    || { log "the run did not end with the path of its HTML sync report (last line: $(tail -n 1 "$full"))"; exit 1; }
# The report the run ends with is the final one: every record of the run at its end.
python3 - "$(dirname "$report")/report.json" <<'PY' || { log "the run's final sync report still has records in flight"; exit 1; }
import json, sys
flows = json.load(open(sys.argv[1]))["payload"]["flows"]
open_records = sum(flow["retrying"] + flow["pending"] + flow["unaccounted"] for flow in flows)
sys.exit(0 if flows and open_records == 0 else 1)
PY
log "check 2 passed: the report is $report"
