#!/usr/bin/env bash
# The run command: installs what is missing, starts a local broker unless KAFKA_BROKERS names one,
# creates the fleet's topics and proves a round trip through the broker; stops what it started.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$BILLSYNC_ROOT"

bash scripts/setup.sh

use_broker

swift build --product billsync
billsync=$(swift build --show-bin-path)/billsync
"$billsync" topics create
"$billsync" check --messages "${BILLSYNC_CHECK_MESSAGES:-1000}"
