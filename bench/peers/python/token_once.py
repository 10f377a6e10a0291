"""One silent token request from a cache file, as a whole process: MSAL Python's side of the
`msal token` start-up comparison in BENCHMARKS.md ("The CLI from a warm cache").

    token_once.py --cache FILE

Reads FILE (unified token cache) and FILE.meta.json written by msal-bench-fixtures, builds the
app over a SerializableTokenCache with bench_hit's StubHttp (no network: any token request
fails the run), asks for the probe account's token with acquire_token_silent, checks it is the
expected cache hit, and prints it on stdout, as `msal token` does. Time the whole process from
outside (e.g. `/usr/bin/time -v` or hyperfine).
"""

import argparse
import json
import sys

import msal

from bench_hit import StubHttp


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True)
    args = ap.parse_args()
    with open(args.cache + ".meta.json") as f:
        meta = json.load(f)
    cache = msal.SerializableTokenCache()
    with open(args.cache) as f:
        cache.deserialize(f.read())
    http = StubHttp(meta["environment"], meta["tenant_id"])
    app = msal.PublicClientApplication(
        meta["client_id"], authority=meta["authority"], token_cache=cache, http_client=http)
    account = next((a for a in app.get_accounts()
                    if a["home_account_id"] == meta["probe_home_account_id"]), None)
    if account is None:
        sys.exit("the probe account is not in the cache")
    result = app.acquire_token_silent(meta["scopes"], account)
    if not result or result.get("token_source") != "cache" \
            or result.get("access_token") != meta["probe_access_token"]:
        sys.exit("not the expected cache hit")
    print(result["access_token"])


if __name__ == "__main__":
    main()
