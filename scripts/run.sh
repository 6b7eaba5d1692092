#!/usr/bin/env bash
# The run command: installs what is missing, starts a local broker unless KAFKA_BROKERS names one,
# creates the fleet's topics, proves a round trip through the broker, generates sample billing
# data (BILLSYNC_SAMPLE_ACCOUNTS, default 1000), extracts it into the raw topics and transforms it
# into CRM upsert commands, printing what was published, transformed and dead-lettered; stops what
# it started.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$BILLSYNC_ROOT"

bash scripts/setup.sh

use_broker

swift build --product billsync --product billsync-sandbox --product billsync-extractor --product billsync-transformer
bin=$(swift build --show-bin-path)
"$bin/billsync" topics create
"$bin/billsync" check --messages "${BILLSYNC_CHECK_MESSAGES:-1000}"

sample="$BILLSYNC_RUN_DIR/sample"
rm -rf "$sample" && mkdir -p "$sample/drop"
"$bin/billsync-sandbox" generate --accounts "${BILLSYNC_SAMPLE_ACCOUNTS:-1000}" --output "$sample/generated" \
    --billing-store "$sample/billing.sqlite"
cp "$sample/generated/billing_export.csv" "$sample/drop/"
"$bin/billsync-extractor" --csv-dir "$sample/drop" --schedule once

# The workers are long-running: run them until they have caught up, then stop them as an
# orchestrator would (SIGTERM), and read their counts from their metrics endpoints.
metric() {
    curl -sf "http://127.0.0.1:$1/metrics" | awk -v name="$2" '$1 ~ "^"name"[{ ]" { sum += $NF } END { printf "%d", sum }'
}
wait_caught_up() {
    local port=$1 last=-1 stable=0 consumed lag
    for _ in $(seq 1 240); do
        sleep 0.5
        consumed=$(metric "$port" billsync_messages_consumed_total || echo 0)
        lag=$(metric "$port" billsync_consumer_lag || echo 1)
        if [ "$consumed" -gt 0 ] && [ "$lag" -eq 0 ] && [ "$consumed" = "$last" ]; then stable=$((stable + 1)); else stable=0; fi
        last=$consumed
        [ "$stable" -ge 4 ] && return 0
    done
}
transformer_port="${BILLSYNC_TRANSFORMER_PORT:-19464}"
rollup_port="${BILLSYNC_ROLLUP_PORT:-19465}"
BILLSYNC_HTTP_HOST=127.0.0.1 BILLSYNC_HTTP_PORT="$transformer_port" BILLSYNC_TRANSFORMER_STATE="$sample/transformer-state.sqlite" \
    BILLSYNC_LOG_LEVEL=warning "$bin/billsync-transformer" &
transformer=$!
BILLSYNC_HTTP_HOST=127.0.0.1 BILLSYNC_HTTP_PORT="$rollup_port" BILLSYNC_TRANSFORMER_STATE="$sample/rollup-state.sqlite" \
    BILLSYNC_LOG_LEVEL=warning "$bin/billsync-transformer" --role rollup &
rollup=$!
wait_caught_up "$transformer_port"
wait_caught_up "$rollup_port"
consumed=$(metric "$transformer_port" billsync_messages_consumed_total)
processed=$(metric "$transformer_port" billsync_messages_processed_total)
produced=$(metric "$transformer_port" billsync_messages_produced_total)
dead=$(metric "$transformer_port" billsync_messages_dead_lettered_total)
rollups=$(metric "$rollup_port" billsync_messages_produced_total)
kill -TERM "$transformer" "$rollup"; wait "$transformer"; wait "$rollup"
log "transformer: consumed $consumed raw records, $processed transformed, $dead dead-lettered (rule breaks), $produced messages written to billsync.crm.upserts"
log "hierarchy roll-ups: $rollups C1/C2 total upserts written to billsync.crm.upserts"
log "sample data: $sample (the drop folder's processed/ holds the file read; anomalies.json lists the deliberate bad rows)"
