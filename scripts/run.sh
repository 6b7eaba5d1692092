#!/usr/bin/env bash
# The run command: installs what is missing, starts a local broker unless KAFKA_BROKERS names one,
# creates the fleet's topics, proves a round trip through the broker, generates sample billing
# data (BILLSYNC_SAMPLE_ACCOUNTS, default 1000) and extracts it into the raw topics, printing
# what was published and what was dead-lettered; stops what it started.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$BILLSYNC_ROOT"

bash scripts/setup.sh

use_broker

swift build --product billsync --product billsync-sandbox --product billsync-extractor
bin=$(swift build --show-bin-path)
"$bin/billsync" topics create
"$bin/billsync" check --messages "${BILLSYNC_CHECK_MESSAGES:-1000}"

sample="$BILLSYNC_RUN_DIR/sample"
rm -rf "$sample" && mkdir -p "$sample/drop"
"$bin/billsync-sandbox" generate --accounts "${BILLSYNC_SAMPLE_ACCOUNTS:-1000}" --output "$sample/generated" \
    --billing-store "$sample/billing.sqlite"
cp "$sample/generated/billing_export.csv" "$sample/drop/"
"$bin/billsync-extractor" --csv-dir "$sample/drop" --schedule once
log "sample data: $sample (the drop folder's processed/ holds the file read; anomalies.json lists the deliberate bad rows)"
