"""Time MSAL Python's silent cache hit over a cache fixture written by msal-bench-fixtures.

    bench_hit.py --cache FILE [--warmup S] [--min-time S] [--min-batches K]

Reads FILE (unified token cache, MSAL Python dialect) and FILE.meta.json (client id,
authority, the probe account and its expected access token), builds a
``msal.PublicClientApplication`` over a ``SerializableTokenCache`` holding the file, and times
``acquire_token_silent(["User.Read"], account)`` for the probe (middle) account, with the same
batch rules as msal-rs's runner (msal-bench/src/timing.rs). Prints one JSON line.

Nothing leaves the machine: the app gets ``http_client=StubHttp(...)``, which answers MSAL's
two discovery GETs (instance discovery and the tenant's OpenID configuration) with canned JSON
and raises on anything else. Once the first hit has been served, the stub is frozen: any request
at all during warm-up or measurement fails the run. Every timed result is checked to come from
the cache (``token_source == "cache"``) with the expected access token.
"""

import argparse
import json
import resource
import sys
import time

import msal

# What login.microsoftonline.com's instance discovery answers for the public cloud.
INSTANCE_METADATA = [
    {
        "preferred_network": "login.microsoftonline.com",
        "preferred_cache": "login.windows.net",
        "aliases": [
            "login.microsoftonline.com",
            "login.windows.net",
            "login.microsoft.com",
            "sts.windows.net",
        ],
    },
    {
        "preferred_network": "login.partner.microsoftonline.cn",
        "preferred_cache": "login.partner.microsoftonline.cn",
        "aliases": ["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"],
    },
    {
        "preferred_network": "login.microsoftonline.us",
        "preferred_cache": "login.microsoftonline.us",
        "aliases": ["login.microsoftonline.us", "login.usgovcloudapi.net"],
    },
]


def openid_configuration(host, tenant):
    """The OpenID configuration document of an Entra tenant (the fields MSAL Python reads)."""
    base = "https://{}/{}".format(host, tenant)
    return {
        "token_endpoint": base + "/oauth2/v2.0/token",
        "authorization_endpoint": base + "/oauth2/v2.0/authorize",
        "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
        "end_session_endpoint": base + "/oauth2/v2.0/logout",
        "issuer": "https://{}/{}/v2.0".format(host, tenant),
        "jwks_uri": "https://{}/{}/discovery/v2.0/keys".format(host, tenant),
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
    }


class StubResponse:
    def __init__(self, status_code, body):
        self.status_code = status_code
        self.text = json.dumps(body)
        self.headers = {"Content-Type": "application/json"}

    def raise_for_status(self):
        if self.status_code >= 400:
            raise RuntimeError("stub HTTP status {}".format(self.status_code))


class NetworkUsed(RuntimeError):
    """A request MSAL must not make during a cache hit."""


class StubHttp:
    """An ``http_client`` for MSAL Python that never touches the network."""

    def __init__(self, host, tenant):
        self.host, self.tenant = host, tenant
        self.requests = []
        self.frozen = False

    def _record(self, method, url):
        self.requests.append("{} {}".format(method, url))
        if self.frozen:
            raise NetworkUsed("network request during the timed hits: {} {}".format(method, url))

    def get(self, url, params=None, headers=None, **kwargs):
        self._record("GET", url)
        if url.endswith("/common/discovery/instance"):
            return StubResponse(200, {
                "tenant_discovery_endpoint": "https://{}/{}/v2.0/.well-known/openid-configuration"
                .format(self.host, self.tenant),
                "api-version": "1.1",
                "metadata": INSTANCE_METADATA,
            })
        if url.endswith("/.well-known/openid-configuration"):
            return StubResponse(200, openid_configuration(self.host, self.tenant))
        raise NetworkUsed("unexpected GET " + url)

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        self._record("POST", url)
        raise NetworkUsed("a token request was made (POST {}): not a cache hit".format(url))

    def close(self):
        pass


def quantile(sorted_values, q):
    rank = int(-(-q * len(sorted_values) // 1))  # ceil
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


def measure(run_batch, warmup, min_time, min_batches, batch_target=0.010):
    """The same rules as msal-bench/src/timing.rs."""
    start = time.perf_counter()
    warm = 0
    while warm == 0 or time.perf_counter() - start < warmup:
        run_batch(1)
        warm += 1
    per_call = (time.perf_counter() - start) / warm
    size = int(min(max(batch_target // max(per_call, 1e-9), 1), 1_000_000))
    samples = []
    measuring = time.perf_counter()
    while len(samples) < min_batches or time.perf_counter() - measuring < min_time:
        t = time.perf_counter_ns()
        run_batch(size)
        samples.append((time.perf_counter_ns() - t) / 1e3 / size)
    samples.sort()
    return {
        "median_us": quantile(samples, 0.5),
        "p90_us": quantile(samples, 0.9),
        "min_us": samples[0],
        "batch_size": size,
        "batches": len(samples),
        "iterations": size * len(samples),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--warmup", type=float, default=0.5)
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--min-batches", type=int, default=5)
    args = ap.parse_args()

    with open(args.cache + ".meta.json") as f:
        meta = json.load(f)
    scopes = meta["scopes"]
    expected = meta["probe_access_token"]

    t = time.perf_counter()
    with open(args.cache) as f:
        state = f.read()
    cache = msal.SerializableTokenCache()
    cache.deserialize(state)
    del state
    http = StubHttp(meta["environment"], meta["tenant_id"])
    app = msal.PublicClientApplication(
        meta["client_id"], authority=meta["authority"], token_cache=cache, http_client=http)
    accounts = app.get_accounts()
    account = next(
        (a for a in accounts if a["home_account_id"] == meta["probe_home_account_id"]), None)
    if account is None:
        sys.exit("the probe account is not among get_accounts()' {} accounts".format(len(accounts)))
    del accounts
    first = app.acquire_token_silent(scopes, account)
    load_s = time.perf_counter() - t
    if not first or first.get("token_source") != "cache" or first.get("access_token") != expected:
        sys.exit("the first call was not the expected cache hit: {}".format(
            {k: v for k, v in (first or {}).items() if k != "access_token"}))
    setup_requests = list(http.requests)
    http.frozen = True

    def run_batch(k):
        for _ in range(k):
            r = app.acquire_token_silent(scopes, account)
            if r is None or r.get("token_source") != "cache" or r["access_token"] != expected:
                raise SystemExit("a hit was not the expected cache hit")

    summary = measure(run_batch, args.warmup, args.min_time, args.min_batches)
    out = {
        "lib": "msal-python",
        "version": msal.__version__,
        "store": "memory",
        "n": meta["accounts"],
        **summary,
        "load_s": load_s,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "network_requests": len(http.requests) - len(setup_requests),
        "setup_requests": setup_requests,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
