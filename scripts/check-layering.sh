#!/usr/bin/env bash
# The layering rule, checked on the real dependency graph (normal dependencies only):
# msal-core does no I/O; msal-cache and msal-interactive depend on msal-core and no other msal
# crate, msal-http (the transport) on no msal crate;
# a user of msal-cache alone gets neither reqwest nor tokio (nor a database client: those are features).
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
deps() { cargo tree --locked -p "$1" -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u; }

core=$(deps msal-core)
for forbidden in tokio reqwest hyper mio socket2; do
  if grep -qx "$forbidden" <<<"$core"; then echo "msal-core depends on $forbidden (no I/O allowed)"; fail=1; fi
done
cache=$(deps msal-cache)
for forbidden in tokio tokio-postgres reqwest hyper msal-http msal-interactive msal; do
  if grep -qx "$forbidden" <<<"$cache"; then echo "msal-cache depends on $forbidden"; fail=1; fi
done
http=$(deps msal-http)
for forbidden in msal-cache msal-interactive msal; do
  if grep -qx "$forbidden" <<<"$http"; then echo "msal-http depends on $forbidden"; fail=1; fi
done
interactive=$(deps msal-interactive)
for forbidden in msal-cache msal-http msal; do
  if grep -qx "$forbidden" <<<"$interactive"; then echo "msal-interactive depends on $forbidden"; fail=1; fi
done
[ "$fail" = 0 ] && echo "layering OK: msal-core ($(wc -l <<<"$core") crates), msal-cache ($(wc -l <<<"$cache") crates), no tokio/reqwest below the facade's transport"
exit "$fail"
