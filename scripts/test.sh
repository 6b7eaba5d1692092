#!/usr/bin/env bash
# The test command: installs what is missing, starts a local broker (unless KAFKA_BROKERS names
# one) and a PostgreSQL server (unless BILLSYNC_POSTGRES_URL names one), builds and runs every
# test, then runs the run command (interrupted once with Ctrl-C, then its short form to the end),
# and stops what it started.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$BILLSYNC_ROOT"

bash scripts/setup.sh

use_broker
use_postgres

log "building (first build fetches and compiles dependencies: a few minutes)"
swift build --build-tests
log "running tests against $KAFKA_BROKERS and PostgreSQL"
swift test --skip-build "$@"
# The main job must work as a newcomer meets it: interrupted cleanly, and run to a closed account.
# (Skipped when the tests were narrowed with arguments, e.g. --filter.)
if [ $# -eq 0 ]; then bash scripts/check_run.sh; fi
