#!/usr/bin/env bash
# The benchmark command: builds in release mode, then
#   scripts/bench.sh [kafka] [--json] [--messages N]   the Kafka binding against rdkafka_performance
#   scripts/bench.sh transformer [--json] [--records N] [--rounds N]  the transformer process against a raw pipe and a Python stage
#   scripts/bench.sh loader [--json] [--records N]      the loader into the Salesforce emulator (Collections, Bulk)
#   scripts/bench.sh extractor [--json] [--rows N]      a 1,000,000-row export through the extractor: rows/s, peak memory
# on the local broker (or KAFKA_BROKERS).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$BILLSYNC_ROOT"

BILLSYNC_NEED_PERF_TOOL=1 bash scripts/setup.sh

use_broker

build_release billsync-bench billsync-loader billsync-extractor billsync-transformer billsync-passthrough
bench="$("${RELEASE_BUILD[@]}" --show-bin-path)/billsync-bench"
case "${1:-kafka}" in
    transformer) shift; "$bench" transformer "$@" ;;
    loader) shift; "$bench" loader "$@" ;;
    extractor) shift; "$bench" extractor "$@" ;;
    kafka) [ "${1:-}" = kafka ] && shift; "$bench" kafka --tool "$BILLSYNC_TOOLS/bin/rdkafka_performance" "$@" ;;
    *) "$bench" kafka --tool "$BILLSYNC_TOOLS/bin/rdkafka_performance" "$@" ;;
esac
