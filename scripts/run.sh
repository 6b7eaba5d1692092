#!/usr/bin/env bash
# The run command: installs what is missing, starts a local broker unless KAFKA_BROKERS names one,
# creates the fleet's topics and proves a round trip through the broker; stops what it started.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$BILLSYNC_ROOT"

bash scripts/setup.sh

started_broker=0
if [ -z "${KAFKA_BROKERS:-}" ]; then
    KAFKA_BROKERS=$(bash scripts/broker.sh start)
    started_broker=1
fi
export KAFKA_BROKERS
cleanup() { [ "$started_broker" = 1 ] && bash scripts/broker.sh stop || true; }
trap cleanup EXIT

swift build --product billsync
billsync=$(swift build --show-bin-path)/billsync
"$billsync" topics create
"$billsync" check --messages "${BILLSYNC_CHECK_MESSAGES:-1000}"
