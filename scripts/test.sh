#!/usr/bin/env bash
# The whole msal-rs test suite: formatting, lints, the layering rule, and every test.
# Works on a fresh machine with the Rust toolchain; installs what else it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "layering: msal-core has no I/O crates; msal-cache and msal-http depend on msal-core only"
scripts/check-layering.sh

step "cargo test (unit, property, contract and doc tests)"
cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/test-output.txt
# One plain closing line for CI: the sum over every test binary.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "\ntests: %d passed, %d failed, %d skipped\n", p, f, i }' target/test-output.txt
