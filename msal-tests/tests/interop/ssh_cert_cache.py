"""MSAL Python's token cache and SSH certificates, for msal-tests/tests/interop_msal_python.rs.

    python ssh_cert_cache.py write <cache file> <client id> <tenant> <scope> <key id> <cert>
    python ssh_cert_cache.py read  <cache file> <client id> <tenant> <scope> <key id>

`write` stores an app-only SSH certificate the way ConfidentialClientApplication does when the
token endpoint answers `acquire_token_for_client(scopes, data={"token_type": "ssh-cert",
"key_id": ..., "req_cnf": ...})` (TokenCache.add with the event application.py builds).
`read` runs application.py's access-token cache query for such a request (client, environment,
realm, no account, key_id; the scopes a subset of the entry's) and prints one JSON line: the
certificate found, or null. No network: only the cache file is read and written.
"""
import json
import os
import sys

import msal

ENVIRONMENT = "login.microsoftonline.com"


def main():
    mode, cache_file, client_id, tenant, scope, key_id = sys.argv[1:7]
    cache = msal.SerializableTokenCache()
    if os.path.exists(cache_file):
        with open(cache_file) as f:
            cache.deserialize(f.read())
    if mode == "write":
        data = {"token_type": "ssh-cert", "key_id": key_id, "req_cnf": "{}"}
        cache.add({
            "client_id": client_id,
            "scope": [scope],
            "token_endpoint": "https://{}/{}/oauth2/v2.0/token".format(ENVIRONMENT, tenant),
            "environment": ENVIRONMENT,
            "grant_type": "client_credentials",
            "data": data,
            "response": {"token_type": "ssh-cert", "access_token": sys.argv[7],
                         "expires_in": 3600},
        })
        with open(cache_file, "w") as f:
            f.write(cache.serialize())
        found = sys.argv[7]
    else:
        query = {"client_id": client_id, "environment": ENVIRONMENT, "realm": tenant,
                 "home_account_id": None, "key_id": key_id}
        entries = cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN,
                               target=[scope], query=query)
        entry = next(iter(entries), None)
        found = entry["secret"] if entry else None
    print(json.dumps({"certificate": found, "version": msal.__version__}))


if __name__ == "__main__":
    main()
