#!/usr/bin/env bash
# Starts or stops the local Tansu broker on 127.0.0.1:$BILLSYNC_BROKER_PORT (default 19092).
#   scripts/broker.sh start   prints the bootstrap address; reuses a broker it already started
#   scripts/broker.sh stop    stops the broker it started (nothing else)
#   scripts/broker.sh status  exits 0 when the broker it started is running
# Set KAFKA_BROKERS to use your own cluster instead; then this script starts nothing.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PID_FILE="$BILLSYNC_RUN_DIR/tansu.pid"
LOG_FILE="$BILLSYNC_RUN_DIR/tansu.log"
ADDRESS="127.0.0.1:$BILLSYNC_BROKER_PORT"

port_open() {
    python3 - "$BILLSYNC_BROKER_PORT" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}

running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

start() {
    if running && port_open; then echo "$ADDRESS"; return 0; fi
    if port_open; then
        log "port $BILLSYNC_BROKER_PORT is taken by a process this script did not start; set BILLSYNC_BROKER_PORT"
        exit 1
    fi
    # Memory storage: topics and offsets last as long as the process (Tansu 0.6 has no file storage).
    # A session of its own: a Ctrl-C meant for the script must not stop the broker before the
    # workers have finished and committed (the script stops it last).
    nohup setsid "$BILLSYNC_TOOLS/bin/tansu" broker \
        --listener-url "tcp://$ADDRESS" \
        --advertised-listener-url "tcp://$ADDRESS" \
        --storage-engine "memory://tansu/" >"$LOG_FILE" 2>&1 &
    echo $! >"$PID_FILE"
    for _ in $(seq 1 100); do
        if port_open; then log "Tansu broker listening on $ADDRESS (log: $LOG_FILE)"; echo "$ADDRESS"; return 0; fi
        running || break
        sleep 0.1
    done
    log "the broker did not start; its log follows"; cat "$LOG_FILE" >&2; exit 1
}

stop() {
    if running; then
        kill "$(cat "$PID_FILE")" 2>/dev/null || true
        for _ in $(seq 1 50); do running || break; sleep 0.1; done
        running && kill -9 "$(cat "$PID_FILE")" 2>/dev/null || true
        log "Tansu broker stopped"
    fi
    rm -f "$PID_FILE"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) running && port_open ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
