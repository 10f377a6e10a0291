"""MSAL Python's ManagedIdentityClient for msal-tests/tests/interop_msal_python.rs.

    python mi_client.py <cache file> <resource> [<user-assigned client id>]

Loads MSAL Python's token cache from the file (when it exists), acquires a token the way an app
would (the source is detected from the environment the test sets: IMDS through
AZURE_POD_IDENTITY_AUTHORITY_HOST, App Service through IDENTITY_ENDPOINT + IDENTITY_HEADER),
writes the cache back, and prints one JSON line: the token, where it came from, the source.
"""
import json
import os
import sys

import msal
import requests


SOURCES = {
    msal.managed_identity.APP_SERVICE: "app_service",
    msal.managed_identity.DEFAULT_TO_VM: "imds",
}


def main():
    cache_file, resource = sys.argv[1], sys.argv[2]
    client_id = sys.argv[3] if len(sys.argv) > 3 else None
    cache = msal.SerializableTokenCache()
    if os.path.exists(cache_file):
        with open(cache_file) as f:
            cache.deserialize(f.read())
    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy from the environment
    identity = (msal.UserAssignedManagedIdentity(client_id=client_id) if client_id
                else msal.SystemAssignedManagedIdentity())
    app = msal.ManagedIdentityClient(identity, http_client=session, token_cache=cache)
    result = app.acquire_token_for_client(resource=resource)
    if cache.has_state_changed:
        with open(cache_file, "w") as f:
            f.write(cache.serialize())
    print(json.dumps({
        "access_token": result.get("access_token"),
        "token_source": result.get("token_source"),
        "error": result.get("error"),
        "source": SOURCES.get(msal.managed_identity.get_managed_identity_source(), "other"),
        "version": msal.__version__,
    }))


if __name__ == "__main__":
    main()
