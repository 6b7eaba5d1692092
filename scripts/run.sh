#!/usr/bin/env bash
# The run command: installs what is missing, starts a local broker unless KAFKA_BROKERS names one,
# creates the fleet's topics, proves a round trip through the broker, generates sample billing
# data (BILLSYNC_SAMPLE_ACCOUNTS, default 1000), extracts it into the raw topics, transforms it
# into CRM upsert commands and loads them into the Salesforce emulator, printing what was
# published, transformed, created, updated and dead-lettered; stops what it started.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$BILLSYNC_ROOT"

bash scripts/setup.sh

use_broker

swift build --product billsync --product billsync-sandbox --product billsync-extractor --product billsync-transformer \
    --product billsync-loader
bin=$(swift build --show-bin-path)
"$bin/billsync" topics create
"$bin/billsync" check --messages "${BILLSYNC_CHECK_MESSAGES:-1000}"

sample="$BILLSYNC_RUN_DIR/sample"
rm -rf "$sample" && mkdir -p "$sample/drop"
"$bin/billsync-sandbox" generate --accounts "${BILLSYNC_SAMPLE_ACCOUNTS:-1000}" --output "$sample/generated" \
    --billing-store "$sample/billing.sqlite"
cp "$sample/generated/billing_export.csv" "$sample/drop/"
# Each run is its own source: a broker kept running between runs still has the checkpoint of the
# previous run's file (same content), which would rightly be skipped.
"$bin/billsync-extractor" --csv-dir "$sample/drop" --source "sample-$(date -u +%Y%m%dT%H%M%S)" --schedule once

# The workers are long-running: run them until they have caught up, then stop them as an
# orchestrator would (SIGTERM), and read their counts from their metrics endpoints.
metric() {  # port, metric name, optional label filter (e.g. outcome="created")
    curl -sf "http://127.0.0.1:$1/metrics" | awk -v name="$2" -v label="${3:-}" \
        '($1 == name || index($1, name "{") == 1) && index($0, label) { sum += $NF } END { printf "%d", sum }'
}
wait_caught_up() {  # until the worker is in its group, has no lag, and consumed nothing new for 2 s
    local port=$1 last=-1 stable=0 consumed lag
    for _ in $(seq 1 360); do
        sleep 0.5
        if ! curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; then stable=0; continue; fi
        consumed=$(metric "$port" billsync_messages_consumed_total || echo 0)
        lag=$(metric "$port" billsync_consumer_lag || echo 1)
        if [ "$lag" -eq 0 ] && [ "$consumed" = "$last" ]; then stable=$((stable + 1)); else stable=0; fi
        last=$consumed
        if [ "$stable" -ge 4 ]; then return 0; fi
    done
    log "warning: the worker on port $port had not caught up after 3 minutes"
}
transformer_port="${BILLSYNC_TRANSFORMER_PORT:-19464}"
rollup_port="${BILLSYNC_ROLLUP_PORT:-19465}"
BILLSYNC_HTTP_HOST=127.0.0.1 BILLSYNC_HTTP_PORT="$transformer_port" BILLSYNC_TRANSFORMER_STATE="$sample/transformer-state.sqlite" \
    BILLSYNC_LOG_LEVEL=warning "$bin/billsync-transformer" &
transformer=$!
BILLSYNC_WORKER_PIDS="$BILLSYNC_WORKER_PIDS $transformer"
BILLSYNC_HTTP_HOST=127.0.0.1 BILLSYNC_HTTP_PORT="$rollup_port" BILLSYNC_TRANSFORMER_STATE="$sample/rollup-state.sqlite" \
    BILLSYNC_LOG_LEVEL=warning "$bin/billsync-transformer" --role rollup &
rollup=$!
BILLSYNC_WORKER_PIDS="$BILLSYNC_WORKER_PIDS $rollup"
# The Salesforce emulator stands in for the org; the loader logs in with client credentials
# given in its environment, as it would in production.
sandbox_port="${BILLSYNC_SANDBOX_PORT:-18090}"
loader_port="${BILLSYNC_LOADER_PORT:-19466}"
"$bin/billsync-sandbox" serve --port "$sandbox_port" --data "$sample/salesforce.sqlite" --billing-data "$sample/billing.sqlite" \
    >"$sample/sandbox.log" 2>&1 &
sandbox=$!
BILLSYNC_WORKER_PIDS="$BILLSYNC_WORKER_PIDS $sandbox"
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$sandbox_port/sandbox/salesforce/Account/count" >/dev/null && break; sleep 0.1; done
# Short retry tiers for the sample (production defaults: 30 s, then 5 min), so a record that can
# never load (a roll-up for an account the transformer refused) reaches the dead-letter topic
# while this command waits.
BILLSYNC_HTTP_HOST=127.0.0.1 BILLSYNC_HTTP_PORT="$loader_port" BILLSYNC_LOG_LEVEL=error BILLSYNC_RETRY_TIERS="5s,10s" \
    SALESFORCE_LOGIN_URL="http://127.0.0.1:$sandbox_port" SALESFORCE_CLIENT_ID=billsync-sandbox SALESFORCE_CLIENT_SECRET=sandbox-secret \
    "$bin/billsync-loader" &
loader=$!
BILLSYNC_WORKER_PIDS="$BILLSYNC_WORKER_PIDS $loader"
wait_caught_up "$transformer_port"
wait_caught_up "$rollup_port"
consumed=$(metric "$transformer_port" billsync_messages_consumed_total)
processed=$(metric "$transformer_port" billsync_messages_processed_total)
produced=$(metric "$transformer_port" billsync_messages_produced_total 'topic="billsync.crm.upserts"')
dead=$(metric "$transformer_port" billsync_messages_dead_lettered_total)
rollups=$(metric "$rollup_port" billsync_messages_produced_total 'topic="billsync.crm.upserts"')
kill -TERM "$transformer" "$rollup"; wait "$transformer"; wait "$rollup"
log "transformer: consumed $consumed raw records, $processed transformed, $dead dead-lettered (rule breaks), $produced messages written to billsync.crm.upserts"
log "hierarchy roll-ups: $rollups C1/C2 total upserts written to billsync.crm.upserts"
# Every upsert must end loaded or dead-lettered. An update that arrived before the upsert creating
# its record (a bill before its account) waits in the first retry topic (30 s) and then loads.
expected=$((produced + rollups))
for _ in $(seq 1 240); do
    created=$(metric "$loader_port" billsync_loader_records_total 'outcome="created"' || echo 0)
    updated=$(metric "$loader_port" billsync_loader_records_total 'outcome="updated"' || echo 0)
    loader_dead=$(metric "$loader_port" billsync_messages_dead_lettered_total || echo 0)
    [ $((created + updated + loader_dead)) -ge "$expected" ] && break
    sleep 1
done
failed=$(metric "$loader_port" billsync_loader_records_total 'outcome="failed"')
calls=$(metric "$loader_port" billsync_salesforce_api_calls_total)
curl -sf "http://127.0.0.1:$loader_port/metrics" > "$sample/loader-metrics.txt" || true
kill -TERM "$loader"; wait "$loader"
counts=""
for object in Account Service_Point__c Meter_Reading__c; do
    counts="$counts $object=$(curl -sf "http://127.0.0.1:$sandbox_port/sandbox/salesforce/$object/count" | tr -dc '0-9')"
done
kill -TERM "$sandbox"; wait "$sandbox" || true
log "loader: $expected upserts: $created created, $updated updated, $loader_dead dead-lettered ($failed refused by Salesforce) in $calls Salesforce API calls"
log "Salesforce emulator now holds:$counts"
log "sample data: $sample (the drop folder's processed/ holds the file read; anomalies.json lists the deliberate bad rows)"
