#!/usr/bin/env bash
# A local PostgreSQL for trying `brook run` (README, docs/stream.md): data in ${BROOK_PG_DIR:-./pgdata},
# listening on 127.0.0.1:${BROOK_PG_PORT:-5433}, user postgres without a password (trust),
# max_prepared_transactions=16 (two-phase commit needs it). Needs Debian's postgresql
# package (scripts/install-deps.sh installs it). As root, the server runs as the `postgres`
# OS user (initdb refuses root).
#   scripts/pg.sh start | stop | psql [psql args...]
set -euo pipefail
DIR=${BROOK_PG_DIR:-$PWD/pgdata}
PORT=${BROOK_PG_PORT:-5433}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$BIN" ] || { echo "pg.sh: PostgreSQL not found (bash scripts/install-deps.sh)" >&2; exit 1; }
# (from /, so that a working directory postgres cannot enter does not matter; the data
# directory itself must be reachable by postgres)
as_owner() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
case "${1:-}" in
start)
    if [ ! -f "$DIR/PG_VERSION" ]; then
        mkdir -p "$DIR"
        [ "$(id -u)" -eq 0 ] && chown postgres: "$DIR"
        as_owner "$BIN/initdb" -D "$DIR" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
    fi
    as_owner "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 \
        -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DIR \
            -c max_prepared_transactions=16" start >/dev/null
    echo "PostgreSQL on 127.0.0.1:$PORT (data $DIR); stop with: bash scripts/pg.sh stop"
    ;;
stop)
    as_owner "$BIN/pg_ctl" -D "$DIR" -m fast -w -t 60 stop >/dev/null
    ;;
psql)
    shift
    exec "$BIN/psql" -X -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"
    ;;
*)
    echo "usage: scripts/pg.sh start|stop|psql [args]" >&2
    exit 2
    ;;
esac
