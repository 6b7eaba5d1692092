#!/usr/bin/env bash
# Starts or stops a PostgreSQL server of billsync's own on 127.0.0.1:$BILLSYNC_POSTGRES_PORT
# (default 15432), from Debian's postgresql package, with its data in a throw-away directory.
#   scripts/postgres.sh start    prints the connection URL; reuses a server it already started
#   scripts/postgres.sh stop     stops the server it started (nothing else)
#   scripts/postgres.sh status   exits 0 when that server is running
# Set BILLSYNC_POSTGRES_URL to use your own server instead; then this script starts nothing.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
DATA_DIR="${BILLSYNC_POSTGRES_DATA:-/var/tmp/billsync-postgres-$BILLSYNC_POSTGRES_PORT}"
URL="postgresql://billsync@127.0.0.1:$BILLSYNC_POSTGRES_PORT/billsync"

# initdb and the server refuse to run as root; Debian's package provides the postgres user.
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() { as_postgres "$PG_BIN/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1; }

start() {
    [ -x "$PG_BIN/pg_ctl" ] || { log "PostgreSQL is not installed (run scripts/setup.sh)"; exit 1; }
    if ! [ -f "$DATA_DIR/PG_VERSION" ]; then
        $SUDO mkdir -p "$DATA_DIR"
        [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DATA_DIR"
        as_postgres "$PG_BIN/initdb" -D "$DATA_DIR" -U postgres --auth=trust --encoding=UTF8 >/dev/null
    fi
    if ! running; then
        as_postgres "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$DATA_DIR/server.log" -w -t 30 \
            -o "-p $BILLSYNC_POSTGRES_PORT -h 127.0.0.1 -k $DATA_DIR -c fsync=on -c max_connections=100" start >/dev/null
        log "PostgreSQL listening on 127.0.0.1:$BILLSYNC_POSTGRES_PORT (data: $DATA_DIR)"
    fi
    as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$BILLSYNC_POSTGRES_PORT" -U postgres -tAc \
        "SELECT 1 FROM pg_roles WHERE rolname = 'billsync'" | grep -q 1 \
        || as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$BILLSYNC_POSTGRES_PORT" -U postgres -qc "CREATE ROLE billsync LOGIN SUPERUSER"
    as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$BILLSYNC_POSTGRES_PORT" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'billsync'" | grep -q 1 \
        || as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$BILLSYNC_POSTGRES_PORT" -U postgres -qc "CREATE DATABASE billsync OWNER billsync"
    echo "$URL"
}

stop() {
    if [ -f "$DATA_DIR/PG_VERSION" ] && running; then
        as_postgres "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m fast -w stop >/dev/null
        log "PostgreSQL stopped"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) running ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
