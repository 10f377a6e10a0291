#!/usr/bin/env bash
# Bounded fuzzing of msal-rs's parsers (the cargo-fuzz project in fuzz/, see fuzz/README.md).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     # default 20 s, every target
#
# Installs cargo-fuzz if it is missing (`cargo install cargo-fuzz --locked`), builds every target
# once, then runs the targets one after another (never in parallel: the machine has 2 cores) for
# SECONDS_PER_TARGET each, starting from the committed corpus: fuzz/corpus/<target>/ (minimized
# with `cargo fuzz cmin`) and the readable hand-made seeds in fuzz/seeds/<target>/.
# New inputs go to a scratch corpus (fuzz/corpus-work/<target>/, git-ignored), so the committed
# corpus does not grow. Prints each target's execution count and exits non-zero if any target
# crashed (panic, overflow, failed property, out of memory >2048 MB, or an input taking >30 s);
# the crashing input is in fuzz/artifacts/<target>/.
#
# Works on the stable toolchain: with `--sanitizer none` cargo-fuzz passes only stable `-C` flags
# (SanitizerCoverage instrumentation, debug assertions, overflow checks). The code under test is
# `#![forbid(unsafe_code)]`, so AddressSanitizer adds little; to use it anyway set
# FUZZ_SANITIZER=address (needs a nightly toolchain; `cargo +nightly` is used when one is installed).
#
# Environment: FUZZ_SKIP (space-separated targets not to run, e.g. one with a known, reported
# library bug), FUZZ_SANITIZER (default none), FUZZ_RSS_LIMIT_MB (default 2048),
# FUZZ_TIMEOUT_S (per input, default 30), CARGO_FUZZ_VERSION (default 0.13.2).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ_DIR="$ROOT/fuzz"
SECS="${1:-20}"
[[ $# -gt 0 ]] && shift
SANITIZER="${FUZZ_SANITIZER:-none}"
RSS_LIMIT_MB="${FUZZ_RSS_LIMIT_MB:-2048}"
TIMEOUT_S="${FUZZ_TIMEOUT_S:-30}"
CARGO_FUZZ_VERSION="${CARGO_FUZZ_VERSION:-0.13.2}"

say() { echo "fuzz.sh: $*" >&2; }
die() { say "$*"; exit 2; }

[[ "$SECS" =~ ^[0-9]+$ && "$SECS" -gt 0 ]] || die "SECONDS_PER_TARGET must be a positive integer, got '$SECS'"
command -v cargo >/dev/null || die "cargo not found"

if ! cargo fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" >&2
fi

TOOLCHAIN=()
if [[ "$SANITIZER" != none ]]; then
    if command -v rustup >/dev/null && rustup toolchain list | grep -q '^nightly'; then
        TOOLCHAIN=(+nightly)
    else
        say "FUZZ_SANITIZER=$SANITIZER needs nightly Rust; trying the default toolchain with RUSTC_BOOTSTRAP=1"
        export RUSTC_BOOTSTRAP=1
    fi
fi

cd "$FUZZ_DIR"
if [[ $# -gt 0 ]]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <(cargo "${TOOLCHAIN[@]}" fuzz list)
fi
if [[ -n "${FUZZ_SKIP:-}" ]]; then
    kept=()
    for t in "${TARGETS[@]}"; do
        if [[ " $FUZZ_SKIP " == *" $t "* ]]; then say "skipping $t (FUZZ_SKIP)"; else kept+=("$t"); fi
    done
    TARGETS=("${kept[@]}")
fi
[[ ${#TARGETS[@]} -gt 0 ]] || die "no fuzz targets to run"

say "building the fuzz targets (sanitizer: $SANITIZER)"
cargo "${TOOLCHAIN[@]}" fuzz build --sanitizer "$SANITIZER" >&2

LOG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/msal-fuzz.XXXXXX")"
failed=()
total=0
for t in "${TARGETS[@]}"; do
    [[ -d "corpus/$t" ]] || die "no seed corpus fuzz/corpus/$t"
    mkdir -p "corpus-work/$t"
    corpora=("corpus-work/$t" "corpus/$t")
    [[ -d "seeds/$t" ]] && corpora+=("seeds/$t")
    log="$LOG_DIR/$t.log"
    set +e
    cargo "${TOOLCHAIN[@]}" fuzz run --sanitizer "$SANITIZER" "$t" "${corpora[@]}" -- \
        -max_total_time="$SECS" -rss_limit_mb="$RSS_LIMIT_MB" -timeout="$TIMEOUT_S" \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    # libFuzzer's final stats (`stat::number_of_executed_units`, `..._runs` in some versions),
    # else its "Done N runs" line, else (a crash stops before both) the last "#N" status line.
    runs="$(sed -nE 's/^stat::number_of_executed_(units|runs):[[:space:]]*([0-9]+).*/\2/p' "$log" | tail -n1)"
    [[ -n "$runs" ]] || runs="$(sed -nE 's/^Done ([0-9]+) runs.*/\1/p' "$log" | tail -n1)"
    [[ -n "$runs" ]] || runs="$(grep -oE '^#[0-9]+' "$log" | tail -n1 | tr -d '#')"
    runs="${runs:-0}"
    total=$((total + runs))
    if [[ $rc -eq 0 ]]; then
        printf 'fuzz %-26s ok      %12s execs in %ss\n' "$t" "$runs" "$SECS"
    else
        failed+=("$t")
        printf 'fuzz %-26s CRASHED after %s execs (exit %s); log: %s\n' "$t" "$runs" "$rc" "$log"
        grep -E "panicked at|^thread '|SUMMARY:|ERROR: libFuzzer|Test unit written to|out-of-memory|timeout after" "$log" | head -n 12 || true
        # The panic message itself (assertion text), a few lines.
        grep -A4 "panicked at" "$log" | head -n 8 || true
    fi
done

ok=$(( ${#TARGETS[@]} - ${#failed[@]} ))
echo "fuzz: ${total} executions in total, ${SECS}s per target"
echo "fuzz: ${ok} passed, ${#failed[@]} failed"
if [[ ${#failed[@]} -gt 0 ]]; then
    say "crashed: ${failed[*]} (inputs in fuzz/artifacts/<target>/; reproduce with: cd fuzz && cargo fuzz run --sanitizer $SANITIZER <target> <input>)"
    exit 1
fi
rm -rf "$LOG_DIR"
