#!/usr/bin/env bash
# The test command: installs what is missing, starts a local broker unless KAFKA_BROKERS names
# one, builds and runs every test, and stops the broker it started.
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

log "building (first build fetches and compiles dependencies: a few minutes)"
swift build --build-tests
log "running tests against $KAFKA_BROKERS"
swift test --skip-build "$@"
