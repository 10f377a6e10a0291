#!/usr/bin/env bash
# Start or stop a private Redis server for msal-rs's Redis cache tests.
#
#   scripts/redis-server.sh start   # installs redis-server if missing (apt, as root), starts it on a
#                                   # free loopback port and prints MSAL_TEST_REDIS_URL=... on stdout
#   scripts/redis-server.sh stop    # stops the server started by `start`
#
#   eval "$(scripts/redis-server.sh start)" && export MSAL_TEST_REDIS_URL
#   cargo test -p msal-cache --features redis --test redis
#   scripts/redis-server.sh stop
#
# The server keeps nothing on disk (no RDB, no AOF) and listens on 127.0.0.1 only. Its files live in
# $MSAL_REDIS_DIR (default: $TMPDIR/msal-rs-redis). Progress messages go to stderr.
set -euo pipefail

STATE_DIR="${MSAL_REDIS_DIR:-${TMPDIR:-/tmp}/msal-rs-redis}"
PIDFILE="$STATE_DIR/redis.pid"
PORTFILE="$STATE_DIR/port"

say() { echo "redis-server.sh: $*" >&2; }
die() { say "$*"; exit 1; }

running_pid() {
    local pid
    [[ -f "$PIDFILE" ]] || return 1
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

install_redis() {
    command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
    say "redis-server not found; installing it with apt-get"
    local sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            die "redis-server is not installed and installing it needs root. Run as root, or: apt-get install redis-server"
        fi
    fi
    { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq redis-server >&2; } \
        || die "installing redis-server with apt-get failed; install it (package redis-server) and retry"
    command -v redis-server >/dev/null || die "redis-server still not on PATH after installing"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
    local pid port attempt
    if pid="$(running_pid)"; then
        port="$(cat "$PORTFILE")"
        say "already running (pid $pid, port $port)"
        echo "MSAL_TEST_REDIS_URL=redis://127.0.0.1:$port/"
        return 0
    fi
    install_redis
    mkdir -p "$STATE_DIR"
    rm -f "$PIDFILE" "$PORTFILE"

    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        port_in_use "$port" && continue
        redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
            --daemonize yes --dir "$STATE_DIR" --pidfile "$PIDFILE" \
            --logfile "$STATE_DIR/redis.log" >&2 || continue
        # Up to 10 s for PONG.
        for _ in $(seq 1 100); do
            if [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true)" == "PONG" ]]; then
                echo "$port" >"$PORTFILE"
                say "started (port $port, pid $(cat "$PIDFILE" 2>/dev/null || echo '?'), files in $STATE_DIR)"
                echo "MSAL_TEST_REDIS_URL=redis://127.0.0.1:$port/"
                return 0
            fi
            sleep 0.1
        done
        # Did not answer: stop whatever we started and try another port.
        if pid="$(running_pid)"; then kill "$pid" 2>/dev/null || true; fi
        say "attempt $attempt: no PONG on port $port; retrying"
    done
    die "could not start redis-server (see $STATE_DIR/redis.log)"
}

stop() {
    local pid
    if ! pid="$(running_pid)"; then
        say "not running"
        rm -f "$PIDFILE" "$PORTFILE"
        return 0
    fi
    kill "$pid"
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE" "$PORTFILE"
    say "stopped (pid $pid)"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
