#!/usr/bin/env bash
# The benchmark command: builds in release mode and compares the Kafka binding with librdkafka's
# rdkafka_performance on the local broker (or KAFKA_BROKERS). Arguments go to billsync-bench
# (e.g. --json, --messages 1000000).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$BILLSYNC_ROOT"

BILLSYNC_NEED_PERF_TOOL=1 bash scripts/setup.sh

use_broker

swift build -c release --product billsync-bench >&2
"$(swift build -c release --show-bin-path)/billsync-bench" kafka --tool "$BILLSYNC_TOOLS/bin/rdkafka_performance" "$@"
