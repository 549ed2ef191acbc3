#!/usr/bin/env bash
# The bench's own PostgreSQL: Debian's server, a cluster in bench/.data/pg on 127.0.0.1.
#
#   bash bench/setup_postgres.sh start   # install if missing, initdb once, start, and give the
#                                        # database a fresh copy of ChainlitDataLayer's schema;
#                                        # prints the DSN as its last line
#   bash bench/setup_postgres.sh stop    # stop the cluster (its files stay for the next run)
#   bash bench/setup_postgres.sh dsn     # print the DSN
#   bash bench/setup_postgres.sh install # only install Debian's postgresql if missing (CI)
#
# BENCH_PG_PORT picks the port (default 54329). Root cannot run postgres, so as root the
# server and its tools run as the `postgres` user, which owns the cluster folder. That user
# may not be able to enter the checkout (a clone in a 0700 folder from mktemp, say), so as
# root the cluster lives in /var/tmp, in a folder named after the checkout (BENCH_PG_DIR
# to choose another).
set -euo pipefail
cd "$(dirname "$0")"

PORT="${BENCH_PG_PORT:-54329}"
DATABASE=chainlit_bench
if [ "$(id -u)" = "0" ]; then
    CLUSTER="${BENCH_PG_DIR:-/var/tmp/mongo-layer-bench-pg-$(printf %s "$PWD" | md5sum | cut -c1-12)}"
else
    CLUSTER="${BENCH_PG_DIR:-$PWD/.data/pg}"
fi
SCHEMA="$PWD/chainlit_schema.sql"
DSN="postgresql://postgres@127.0.0.1:$PORT/$DATABASE"

log() { echo "[setup_postgres] $*" >&2; }

install_if_missing() {
    if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
        return
    fi
    log "installing Debian's postgresql"
    local sudo=""
    if [ "$(id -u)" != "0" ]; then sudo="sudo"; fi
    $sudo apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q postgresql >&2
}

server_bin() {
    ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1
}

as_owner() {
    if [ "$(id -u)" = "0" ]; then
        # From /: the postgres user may not be allowed into the current folder.
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

init_cluster() {
    if [ -f "$CLUSTER/PG_VERSION" ]; then
        return
    fi
    log "initdb in $CLUSTER"
    mkdir -p "$CLUSTER"
    if [ "$(id -u)" = "0" ]; then chown postgres: "$CLUSTER"; fi
    chmod 700 "$CLUSTER"
    as_owner "$(server_bin)/initdb" -D "$CLUSTER" -U postgres --auth=trust -E UTF8 \
        --no-sync >/dev/null
}

is_running() {
    as_owner "$(server_bin)/pg_ctl" -D "$CLUSTER" status >/dev/null 2>&1
}

start_server() {
    if is_running; then
        return
    fi
    log "starting on 127.0.0.1:$PORT"
    # synchronous_commit=off: a commit does not wait for its WAL flush, about the durability
    # SecantusDB gives by default, so neither side is timed on fsync.
    as_owner "$(server_bin)/pg_ctl" -D "$CLUSTER" -l "$CLUSTER/server.log" -w -t 60 start \
        -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='$CLUSTER' \
            -c synchronous_commit=off" >&2
}

fresh_database() {
    local psql
    psql="$(server_bin)/psql"
    export PGOPTIONS="-c client_min_messages=warning"
    as_owner "$psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "DROP DATABASE IF EXISTS $DATABASE WITH (FORCE)" -c "CREATE DATABASE $DATABASE" >&2
    as_owner "$psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -d "$DATABASE" -v ON_ERROR_STOP=1 \
        -f - <"$SCHEMA" >&2
}

stop_server() {
    if [ -f "$CLUSTER/PG_VERSION" ] && is_running; then
        as_owner "$(server_bin)/pg_ctl" -D "$CLUSTER" -m fast -w stop >&2
    fi
}

case "${1:-start}" in
    start)
        install_if_missing
        init_cluster
        start_server
        fresh_database
        echo "$DSN"
        ;;
    stop) stop_server ;;
    install) install_if_missing ;;
    dsn) echo "$DSN" ;;
    *)
        echo "usage: $0 start|stop|dsn|install" >&2
        exit 2
        ;;
esac
