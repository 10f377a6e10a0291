#!/usr/bin/env bash
# The whole msal-rs test suite: formatting, lints, the layering rule, every test, and the
# contract suite once more against each cache backend. Works on a fresh machine with the Rust
# toolchain, Node.js and Python 3: it installs and starts what else it needs (a private
# redis-server on loopback, Debian's Chromium, the npm packages of the end-to-end identity
# provider, MSAL Python in a venv for the interop tests).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target
results=target/test-output.txt
: >"$results"

# Each step's wall time, printed as a table at the end (the README's Tests section quotes it).
timings=()
step_name=""
step_started=$SECONDS
finish_step() {
  if [ -n "$step_name" ]; then
    timings+=("$(printf '%6d s  %s' $((SECONDS - step_started)) "$step_name")")
  fi
}
step() {
  finish_step
  step_name="$*"
  step_started=$SECONDS
  printf '\n==> %s\n' "$*"
}

# Every step has a time bound, so a hang anywhere fails the run with its name instead of using up
# CI's time. The bounds are several times what a step takes on a fresh 2-core machine (see the
# Tests section of the README); the tests bound their own waits more tightly and print what a
# stuck process said.
bounded() {
  local seconds=$1
  shift
  local rc=0
  timeout --kill-after=30 "$seconds" "$@" || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    printf '\n==> TIMED OUT after %s s: %s\n' "$seconds" "$*" >&2
  fi
  return "$rc"
}

step "cargo fmt --check"
bounded 300 cargo fmt --all -- --check

step "cargo clippy (all targets, all features, warnings are errors)"
bounded 2400 cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "cargo doc (every public item documented, no broken links; warnings are errors)"
RUSTDOCFLAGS="-D warnings" bounded 1200 cargo doc --workspace --no-deps --all-features --locked --quiet

step "the facade without reqwest (bring-your-own HttpClient) builds"
bounded 900 cargo check -p msal --no-default-features --locked

step "layering: msal-core has no I/O crates; msal-cache and msal-interactive depend on msal-core only, msal-http on no msal crate"
bounded 300 scripts/check-layering.sh

step "cargo deny: licences, bans (duplicates), sources; advisories where the database is reachable"
bounded 900 scripts/deny.sh

step "redis-server for the Redis cache backend (installed if missing, loopback only)"
redis_env=$(bounded 600 scripts/redis-server.sh start)
export "${redis_env?}"
trap 'scripts/redis-server.sh stop >/dev/null 2>&1 || true' EXIT
echo "$redis_env"

step "PostgreSQL for the Postgres cache backend (installed if missing, a private cluster under target/, loopback only)"
postgres_env=$(bounded 600 scripts/postgres.sh start)
export "${postgres_env?}"
trap 'scripts/redis-server.sh stop >/dev/null 2>&1 || true; scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT
# The password stays out of the log.
echo "$postgres_env" | sed 's#://\([^:]*\):[^@]*@#://\1:***@#'

step "MSAL Python, pinned, in a venv for the interop tests (created if missing)"
msal_python_env=$(bounded 600 scripts/msal-python-venv.sh)
export "${msal_python_env?}"
echo "$msal_python_env"

step "end-to-end provider (oidc-provider via npm ci) and headless Chromium (installed if missing)"
bounded 1200 scripts/e2e-provider.sh setup

step "cargo test (unit, property, contract, multi-process, end-to-end and doc tests; all features)"
bounded 2700 cargo test --workspace --all-features --locked --no-fail-fast 2>&1 | tee -a "$results"

for backend in file encrypted sqlite redis postgres; do
  step "contract suite against the $backend cache backend"
  MSAL_TEST_BACKEND=$backend bounded 900 cargo test -p msal-tests --all-features --locked --no-fail-fast \
    --test contract 2>&1 | tee -a "$results"
done

step "fuzzing: every parser target for a short bounded time, from the committed corpus"
bounded 1200 scripts/fuzz.sh 10

finish_step
printf '\n==> time per step\n'
printf '%s\n' "${timings[@]}"
printf '%6d s  in all\n' "$SECONDS"

# One plain closing line for CI: the sum over every test binary and backend.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "\ntests: %d passed, %d failed, %d skipped\n", p, f, i }' "$results"
! grep -q '^test result: FAILED' "$results"
