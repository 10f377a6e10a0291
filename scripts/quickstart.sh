#!/usr/bin/env bash
# The msal-rs quickstart: the silent-first story with the `msal` command-line tool, against a
# real OpenID Connect provider on loopback (e2e/provider, configured like Entra ID), with
# headless Chromium playing the user who signs in. Nothing leaves this machine.
#
#   1. `msal token` with nobody signed in: the browser sign-in runs, and the tokens land in the
#      encrypted cache.
#   2. `msal token` again: served from the encrypted cache, no network. The time printed is the
#      whole `msal` process (start, read and decrypt the cache, answer); the passphrase's
#      Argon2id key was derived by step 1 and kept in the session keyring, so it is not paid
#      again.
#   3. After the access token expires (the provider issues 302-second tokens; msal-rs refreshes
#      5 minutes early, so here 2 seconds after issue): refreshed with the cached refresh token.
#   4. `msal accounts`, `msal cache inspect` (no secrets shown), `msal logout`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '%s\n' "$*" >&2; }

say "==> setting up: the identity provider (npm ci), headless Chromium, the msal CLI"
say "    (the first time: npm packages, Chromium and a release build, a few minutes)"
scripts/e2e-provider.sh setup >&2
say "==> building the msal CLI (release; cargo shows its progress)"
cargo build --release -p msal-cli
msal="${CARGO_TARGET_DIR:-$root/target}/release/msal"

work=$(mktemp -d)
export MSAL_E2E_DIR="$work/provider"
cleanup() { scripts/e2e-provider.sh stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
issuer=$(AT_TTL=302 scripts/e2e-provider.sh start | sed -n 's/^MSAL_E2E_ISSUER=//p')

export MSAL_CLIENT_ID=msal-rs-e2e
export MSAL_OIDC_AUTHORITY="$issuer"
export MSAL_CACHE="$work/msal_token_cache.bin"
export MSAL_CACHE_PASSPHRASE="quickstart passphrase"
# The "browser" signs in as alice@example.com in headless Chromium.
export BROWSER="node $root/e2e/provider/browser.mjs %s"
say "==> identity provider at $issuer; encrypted cache at $MSAL_CACHE"

# Run `msal token`, then print where the token came from and how long the call took.
token() {
  local label=$1 start end json
  start=$(date +%s%N)
  json=$("$msal" token --scope api://e2e/read --json 2>"$work/stderr") || { cat "$work/stderr" >&2; exit 1; }
  end=$(date +%s%N)
  # A fingerprint, not the token: it shows whether a call returned the same token or a new one.
  printf '%-52s %-9s %9.1f ms   token sha256 %s\n' "$label" \
    "$(sed -n 's/.*"acquisition": *"\([a-z_]*\)".*/\1/p' <<<"$json")" \
    "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", (e - s) / 1e6 }')" \
    "$(sed -n 's/.*"accessToken": *"\([^"]*\)".*/\1/p' <<<"$json" | sha256sum | cut -c1-12)"
}

echo
printf '%-52s %-9s %12s   %s\n' "step" "how" "whole process" "token (a fingerprint)"
token "1. msal token (nobody signed in: browser sign-in)"
token "2. msal token (the cached token)"
sleep 3
token "3. msal token (the token expired: refresh)"
echo
echo "1 is a real sign-in: headless Chromium signs in at the provider and redirects to msal's"
echo "loopback listener. 2 makes no request: its time is the whole msal process (start, read and"
echo "decrypt the cache with the key kept in the session keyring, answer). 3 redeems the cached"
echo "refresh token: a new token with no browser."
echo
echo "\$ msal accounts"
"$msal" accounts
echo
echo "\$ msal cache inspect"
"$msal" cache inspect
echo
echo "\$ msal logout"
"$msal" logout
echo "\$ msal token --scope api://e2e/read --no-interaction"
if "$msal" token --scope api://e2e/read --no-interaction; then
  say "expected 'interaction required' after logout"; exit 1
else
  echo "(exit $?: interaction required, as expected after logout)"
fi
