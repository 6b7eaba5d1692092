#!/usr/bin/env bash
# The test command: installs what is missing, starts a local broker unless KAFKA_BROKERS names
# one, builds and runs every test, and stops the broker it started.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$BILLSYNC_ROOT"

bash scripts/setup.sh

use_broker

log "building (first build fetches and compiles dependencies: a few minutes)"
swift build --build-tests
log "running tests against $KAFKA_BROKERS"
swift test --skip-build "$@"
