#!/usr/bin/env bash
# The loopback OpenID Connect provider for msal-rs's end-to-end tests (e2e/provider, see e2e/README.md).
#
#   scripts/e2e-provider.sh setup     # installs Debian's chromium if /usr/bin/chromium is missing (apt, as
#                                     # root) and the provider's npm packages (npm ci) if missing or stale
#   scripts/e2e-provider.sh start     # starts provider.mjs on a free 127.0.0.1 port, waits for READY and
#                                     # prints MSAL_E2E_ISSUER=http://127.0.0.1:{port} on stdout
#   scripts/e2e-provider.sh stop      # stops the provider started by `start`
#   scripts/e2e-provider.sh status    # prints MSAL_E2E_ISSUER=... if running, else exits 1
#   scripts/e2e-provider.sh selftest  # setup, then node e2e/provider/selftest.mjs (no Rust needed)
#
#   eval "$(scripts/e2e-provider.sh start)" && export MSAL_E2E_ISSUER
#   cargo test ...                    # tests sign in with: node e2e/provider/browser.mjs <authorize-url>
#   scripts/e2e-provider.sh stop
#
# `start` passes the provider's settings through from the environment: AT_TTL, ID_TTL, RT_TTL,
# DEVICE_INTERVAL, DEVICE_CODE_TTL, CLIENT_INFO, REDIRECT_URIS (see e2e/provider/provider.mjs), and
# MSAL_E2E_PORT (default 0: a free port). A provider already running with other settings is an error:
# stop it first. State (pid, issuer, log) lives in $MSAL_E2E_DIR (default $TMPDIR/msal-rs-e2e-provider).
# Progress messages go to stderr; stdout carries only the MSAL_E2E_ISSUER line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROVIDER_DIR="$ROOT/e2e/provider"
STATE_DIR="${MSAL_E2E_DIR:-${TMPDIR:-/tmp}/msal-rs-e2e-provider}"
PIDFILE="$STATE_DIR/provider.pid"
ISSUERFILE="$STATE_DIR/issuer"
SETTINGSFILE="$STATE_DIR/settings"
LOGFILE="$STATE_DIR/provider.log"
STDOUTFILE="$STATE_DIR/provider.stdout"
CHROMIUM=/usr/bin/chromium
READY_TIMEOUT_S=30

say() { echo "e2e-provider.sh: $*" >&2; }
die() { say "$*"; exit 1; }

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        die "this needs root: $*"
    fi
}

check_node() {
    command -v node >/dev/null || die "node not found: install Node.js 20.19+ (22 LTS recommended)"
    command -v npm >/dev/null || die "npm not found"
    node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)||typeof URL.parse!=="function") process.exit(1)' \
        || die "Node.js $(node --version) is too old for oidc-provider 9: need 20.19+ (22 LTS recommended)"
}

setup_chromium() {
    if [[ -x "$CHROMIUM" ]]; then
        return 0
    fi
    say "$CHROMIUM not found; installing Debian's chromium with apt-get"
    { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >&2; } \
        || die "installing chromium with apt-get failed; install the Debian package chromium and retry"
    [[ -x "$CHROMIUM" ]] || die "$CHROMIUM still missing after installing chromium"
}

lock_hash() { sha256sum "$PROVIDER_DIR/package-lock.json" | cut -d' ' -f1; }

npm_is_current() {
    local stamp="$PROVIDER_DIR/node_modules/.msal-e2e-lock-sha256"
    [[ -d "$PROVIDER_DIR/node_modules/oidc-provider" && -d "$PROVIDER_DIR/node_modules/playwright-core" \
        && -f "$stamp" && "$(cat "$stamp")" == "$(lock_hash)" ]]
}

setup_npm() {
    check_node
    [[ -f "$PROVIDER_DIR/package-lock.json" ]] || die "missing $PROVIDER_DIR/package-lock.json"
    if npm_is_current; then
        return 0
    fi
    say "installing the provider's npm packages (npm ci in e2e/provider)"
    (cd "$PROVIDER_DIR" && npm ci --no-audit --no-fund >&2) || die "npm ci failed in $PROVIDER_DIR"
    lock_hash >"$PROVIDER_DIR/node_modules/.msal-e2e-lock-sha256"
}

setup() {
    setup_chromium
    setup_npm
    say "ready: $("$CHROMIUM" --version 2>/dev/null | head -n1), node $(node --version)"
}

# The pid of the provider we started, if it is still that process.
running_pid() {
    local pid
    [[ -f "$PIDFILE" ]] || return 1
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'provider\.mjs' || return 1
    echo "$pid"
}

current_settings() {
    local v out=""
    for v in AT_TTL ID_TTL RT_TTL DEVICE_INTERVAL DEVICE_CODE_TTL CLIENT_INFO REDIRECT_URIS MSAL_E2E_PORT; do
        out+="$v=${!v:-} "
    done
    echo "$out"
}

start() {
    local pid issuer settings
    settings="$(current_settings)"
    if pid="$(running_pid)"; then
        issuer="$(cat "$ISSUERFILE")"
        if [[ "$(cat "$SETTINGSFILE" 2>/dev/null || true)" != "$settings" ]]; then
            die "a provider is already running (pid $pid, $issuer) with other settings ($(cat "$SETTINGSFILE" 2>/dev/null)); run: $0 stop"
        fi
        say "already running (pid $pid, $issuer)"
        echo "MSAL_E2E_ISSUER=$issuer"
        return 0
    fi
    setup_npm
    mkdir -p "$STATE_DIR"
    rm -f "$PIDFILE" "$ISSUERFILE" "$SETTINGSFILE" "$STDOUTFILE"

    PORT="${MSAL_E2E_PORT:-0}" nohup node "$PROVIDER_DIR/provider.mjs" >"$STDOUTFILE" 2>"$LOGFILE" </dev/null &
    pid=$!
    echo "$pid" >"$PIDFILE"

    local deadline=$((SECONDS + READY_TIMEOUT_S))
    while ((SECONDS < deadline)); do
        issuer="$(sed -n 's/^READY \(http:\/\/127\.0\.0\.1:[0-9][0-9]*\)$/\1/p' "$STDOUTFILE" 2>/dev/null | head -n1)"
        if [[ -n "$issuer" ]]; then
            echo "$issuer" >"$ISSUERFILE"
            echo "$settings" >"$SETTINGSFILE"
            say "started (pid $pid, $issuer, log $LOGFILE)"
            echo "MSAL_E2E_ISSUER=$issuer"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PIDFILE"
            tail -n 20 "$LOGFILE" >&2 || true
            die "provider.mjs exited before READY (log above, full log $LOGFILE)"
        fi
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
    tail -n 20 "$LOGFILE" >&2 || true
    die "provider.mjs printed no READY line within ${READY_TIMEOUT_S} s (log $LOGFILE)"
}

stop() {
    local pid
    if ! pid="$(running_pid)"; then
        say "not running"
        rm -f "$PIDFILE" "$ISSUERFILE" "$SETTINGSFILE"
        return 0
    fi
    kill "$pid"
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "pid $pid did not stop within 5 s; killing it"
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE" "$ISSUERFILE" "$SETTINGSFILE"
    say "stopped (pid $pid)"
}

status() {
    local pid
    pid="$(running_pid)" || { say "not running"; return 1; }
    say "running (pid $pid, settings: $(cat "$SETTINGSFILE" 2>/dev/null))"
    echo "MSAL_E2E_ISSUER=$(cat "$ISSUERFILE")"
}

case "${1:-}" in
    setup) setup ;;
    start) start ;;
    stop) stop ;;
    status) status ;;
    selftest) setup && exec node "$PROVIDER_DIR/selftest.mjs" ;;
    *) echo "usage: $0 setup|start|stop|status|selftest" >&2; exit 2 ;;
esac
