#!/usr/bin/env bash
# Start or stop a private PostgreSQL server for msal-rs's PostgresCache tests.
#
#   scripts/postgres.sh start   # installs Debian's postgresql if missing (apt, as root), creates a
#                               # private cluster under target/, starts it on a free loopback port
#                               # and prints MSAL_TEST_POSTGRES_URL=... on stdout
#   scripts/postgres.sh stop    # stops the server started by `start`
#
#   eval "$(scripts/postgres.sh start)" && export MSAL_TEST_POSTGRES_URL
#   cargo test -p msal-cache --features postgres --test postgres
#   scripts/postgres.sh stop
#
# The cluster lives in $MSAL_POSTGRES_DIR (default: ${CARGO_TARGET_DIR:-target}/msal-postgres, or
# $TMPDIR/msal-rs-postgres when the postgres user cannot reach target/) and
# is made anew by every `start` (nothing in it is worth keeping). It listens on 127.0.0.1 only, with
# no Unix socket, and a role `msal` with a random password (scram-sha-256). PostgreSQL refuses to
# run as root: as root the server runs as the `postgres` user the package creates (runuser).
# Progress messages go to stderr; on a failed start the server's log is printed there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "postgres.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# Run a server program as the unprivileged owner of the cluster.
as_owner() {
    if [[ "$(id -u)" -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
STATE_DIR="${MSAL_POSTGRES_DIR:-$TARGET_DIR/msal-postgres}"
# As root the server runs as `postgres`, which must be able to pass every folder above the
# cluster; a checkout under a private home folder is not: use a folder under /tmp then (the same
# choice in `start` and `stop`).
if [[ -z "${MSAL_POSTGRES_DIR:-}" && "$(id -u)" -eq 0 ]] && id postgres >/dev/null 2>&1; then
    mkdir -p "$TARGET_DIR"
    if ! as_owner test -x "$TARGET_DIR"; then
        STATE_DIR="${TMPDIR:-/tmp}/msal-rs-postgres"
    fi
fi
DATA="$STATE_DIR/data"
LOG="$STATE_DIR/server.log"
URLFILE="$STATE_DIR/url"

# The newest installed server's bin folder (Debian keeps initdb and pg_ctl out of PATH).
bin_dir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [[ -n "$dir" && -x "$dir/initdb" ]] && echo "$dir"
}

install_postgres() {
    bin_dir >/dev/null && return 0
    say "PostgreSQL not found; installing Debian's postgresql with apt-get"
    [[ "$(id -u)" -eq 0 ]] || die "PostgreSQL is not installed and installing it needs root: apt-get install postgresql"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2; } \
        || die "installing postgresql with apt-get failed; install it (package postgresql) and retry"
    bin_dir >/dev/null || die "no initdb under /usr/lib/postgresql after installing"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() { [[ -f "$DATA/postmaster.pid" ]] && as_owner "$(bin_dir)/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

start() {
    local bin port attempt password
    install_postgres
    bin=$(bin_dir)
    if running && [[ -f "$URLFILE" ]]; then
        say "already running (files in $STATE_DIR)"
        echo "MSAL_TEST_POSTGRES_URL=$(cat "$URLFILE")"
        return 0
    fi
    if [[ "$(id -u)" -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (created by the postgresql package)"
    fi
    rm -rf "$STATE_DIR"
    mkdir -p "$STATE_DIR"
    chmod 0700 "$STATE_DIR"
    [[ "$(id -u)" -eq 0 ]] && chown postgres: "$STATE_DIR"
    # Every folder above the cluster must be passable by its owner.
    as_owner test -x "$STATE_DIR" || die "the postgres user cannot reach $STATE_DIR; set MSAL_POSTGRES_DIR to a folder it can"

    password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$password" >"$STATE_DIR/pwfile"
    [[ "$(id -u)" -eq 0 ]] && chown postgres: "$STATE_DIR/pwfile"
    chmod 0600 "$STATE_DIR/pwfile"
    as_owner "$bin/initdb" -D "$DATA" -U msal --pwfile="$STATE_DIR/pwfile" --auth=scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >"$STATE_DIR/initdb.log" 2>&1 \
        || { cat "$STATE_DIR/initdb.log" >&2; die "initdb failed"; }
    rm -f "$STATE_DIR/pwfile"

    for attempt in 1 2 3 4 5; do
        port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        port_in_use "$port" && continue
        # -w -t 30: pg_ctl waits at most 30 s for the server to accept connections.
        if as_owner "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='' -c fsync=off -c max_connections=200" \
            start >&2; then
            echo "postgres://msal:$password@127.0.0.1:$port/postgres" >"$URLFILE"
            chmod 0600 "$URLFILE"
            say "started (port $port, files in $STATE_DIR)"
            echo "MSAL_TEST_POSTGRES_URL=$(cat "$URLFILE")"
            return 0
        fi
        say "attempt $attempt on port $port failed; the server's log:"
        cat "$LOG" >&2 2>/dev/null || true
        as_owner "$bin/pg_ctl" -D "$DATA" -m immediate -t 10 stop >/dev/null 2>&1 || true
    done
    die "could not start PostgreSQL (log: $LOG)"
}

stop() {
    if ! bin_dir >/dev/null || ! running; then
        say "not running"
        return 0
    fi
    # Up to 20 s for a fast shutdown, then an immediate one.
    as_owner "$(bin_dir)/pg_ctl" -D "$DATA" -m fast -w -t 20 stop >&2 \
        || as_owner "$(bin_dir)/pg_ctl" -D "$DATA" -m immediate -w -t 10 stop >&2
    rm -f "$URLFILE"
    say "stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
