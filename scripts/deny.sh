#!/usr/bin/env bash
# Supply-chain checks with cargo-deny, configured by deny.toml:
# - licenses: permissive licences only (no GPL/LGPL/AGPL), a few data/weak-copyleft exceptions;
# - bans: wildcard version requirements are errors, duplicate versions are warnings;
# - sources: crates.io only;
# - advisories (RustSec): only when the advisory database can be fetched. It is a git repository
#   on GitHub, which this project's machines and CI cannot reach, so there the check is skipped
#   with a notice; DENY_REQUIRE_ADVISORIES=1 turns that skip into a failure (use it wherever
#   GitHub is reachable).
# Installs cargo-deny (CARGO_DENY_VERSION, default below) with `cargo install --locked` when it is
# missing: that builds it from crates.io, a few minutes on 2 cores. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${CARGO_DENY_VERSION:-0.20.2}"
if ! cargo deny --version >/dev/null 2>&1; then
  echo "deny.sh: installing cargo-deny $version" >&2
  cargo install cargo-deny --locked --version "$version"
fi
echo "deny.sh: $(cargo deny --version)" >&2

# Every feature of every workspace crate, all targets (deny.toml [graph]); Cargo.lock as is.
deny() { cargo deny --locked --all-features "$@"; }
# Inclusion graphs (who pulls a crate in) run to a thousand lines for the duplicate warnings
# alone: shown with DENY_VERBOSE=1.
graph=(--hide-inclusion-graph)
[ "${DENY_VERBOSE:-0}" = 1 ] && graph=()

status=0
deny check "${graph[@]}" licenses bans sources || status=1

if timeout 120 cargo deny fetch db >/dev/null 2>&1; then
  deny check "${graph[@]}" advisories || status=1
else
  echo "deny.sh: SKIPPED advisories: the RustSec advisory database" \
    "(https://github.com/RustSec/advisory-db) could not be fetched from here." \
    "Run 'cargo deny --all-features check advisories' where GitHub is reachable." >&2
  if [ "${DENY_REQUIRE_ADVISORIES:-0}" = 1 ]; then
    echo "deny.sh: DENY_REQUIRE_ADVISORIES=1: failing" >&2
    status=1
  fi
fi

if [ "$status" = 0 ]; then
  echo "deny.sh: OK"
else
  echo "deny.sh: FAILED" >&2
fi
exit "$status"
