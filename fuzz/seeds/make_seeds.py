#!/usr/bin/env python3
"""Write the hand-made seed inputs of every fuzz target into fuzz/seeds/<target>/seed-<what>.

Run from anywhere: python3 fuzz/seeds/make_seeds.py. These readable seeds are committed and
read by scripts/fuzz.sh beside fuzz/corpus/<target>/, the corpus minimized with `cargo fuzz cmin`
from these seeds and long fuzzing runs (files named by their SHA-1). All values are fabricated.
"""
import base64, json, os, struct

ROOT = os.path.dirname(os.path.abspath(__file__))

def b64u(b, pad=False):
    s = base64.urlsafe_b64encode(b if isinstance(b, bytes) else b.encode()).decode()
    return s if pad else s.rstrip("=")

def jwt(payload, header=None):
    header = header or {"typ": "JWT", "alg": "RS256", "kid": "nOo3ZDrODXEK1jKWhXslHR_KXEg"}
    return f"{b64u(json.dumps(header))}.{b64u(json.dumps(payload))}.c2lnbmF0dXJlLWZha2U"

def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

UID, UTID = "5f6e7d8c-aaaa-4bbb-8ccc-111111111111", "72f9a1b0-dddd-4eee-9fff-222222222222"
CLIENT = "9f1c3e2a-1111-4a2b-9c3d-0123456789ab"
HID = f"{UID}.{UTID}"
CLIENT_INFO = b64u(json.dumps({"uid": UID, "utid": UTID}))
ENTRA_CLAIMS = {
    "aud": CLIENT, "iss": f"https://login.microsoftonline.com/{UTID}/v2.0",
    "iat": 1700000000, "nbf": 1700000000, "exp": 1700003600, "name": "Alice Example",
    "nonce": "b1e4d6f0-9c1a-4b6e-8d2f-0a1b2c3d4e5f", "oid": UID,
    "preferred_username": "alice@contoso.example", "rh": "0.AAAA.fake", "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
    "tid": UTID, "uti": "AbCdEfGh", "ver": "2.0",
}
ID_TOKEN = jwt(ENTRA_CLAIMS)

# ---- token_response: 2 bytes of status (big endian) + body ----
def tr(name, status, body):
    write("token_response", name, struct.pack(">H", status) + (body if isinstance(body, bytes) else body.encode()))

tr("success-entra", 200, json.dumps({
    "token_type": "Bearer", "scope": "User.Read profile openid email", "expires_in": 3599,
    "ext_expires_in": 3599, "access_token": "eyJ0eXAiOiJKV1QiLCJub25jZSI6ImZha2UifQ.eyJhdWQiOiIwMDAwMDAwMy0wMDAwIn0.c2ln",
    "refresh_token": "0.AAAAfakerefreshtoken-AbCdEf_123", "id_token": ID_TOKEN, "client_info": CLIENT_INFO}))
tr("success-foci-refresh-in", 200, json.dumps({
    "token_type": "Bearer", "scope": "https://graph.microsoft.com/.default", "expires_in": "3599",
    "ext_expires_in": "7199", "refresh_in": 1800, "access_token": "at-fake", "refresh_token": "rt-fake", "foci": "1"}))
tr("success-foci-number", 200, '{"access_token":"x","foci":1,"expires_in":3599.5}')
tr("success-minimal", 200, '{"access_token":"x"}')
tr("success-adfs", 200, json.dumps({"access_token": "adfs-at", "token_type": "bearer", "expires_in": 3600,
    "resource": "urn:microsoft:userinfo", "refresh_token": "adfs-rt", "refresh_token_expires_in": 28800, "id_token": ID_TOKEN}))
tr("error-invalid-grant", 400, json.dumps({
    "error": "invalid_grant", "error_description": "AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.\r\nTrace ID: 0000\r\nCorrelation ID: 1111\r\nTimestamp: 2023-11-14 22:13:20Z",
    "error_codes": [50076], "timestamp": "2023-11-14 22:13:20Z", "trace_id": "0000", "correlation_id": "1111",
    "error_uri": "https://login.microsoftonline.com/error?code=50076", "suberror": "basic_action",
    "claims": "{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"1\"]}}}"}))
tr("error-claims-object", 200, '{"error":"invalid_grant","suberror":"client_mismatch","claims":{"access_token":{"nbf":{"essential":true}}},"access_token":"leaky-token-value-1234567890"}')
tr("error-interaction", 400, '{"error":"interaction_required","error_description":"AADSTS50079","error_codes":[50079,1.5,"x"]}')
tr("error-throttled", 429, '{"error":"temporarily_unavailable","error_description":"try later"}')
tr("error-authorization-pending", 400, '{"error":"authorization_pending","error_description":"AADSTS70016: OAuth 2.0 device flow error. Authorization is pending."}')
tr("error-no-oauth-body", 500, '{"message":"boom","access_token":"abcdefghijklmnopqrstuvwxyz"}')
tr("html-503", 503, "<html><head><title>Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>")
tr("html-200-proxy", 200, "<!DOCTYPE html><html><body>Sign in to the proxy eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig</body></html>")
tr("truncated-json", 200, '{"access_token":"eyJhbGciOiJSUzI1NiJ9.secretsecretsecret')
tr("empty", 200, "")
tr("array", 200, "[1,2]")
tr("wrong-types", 200, '{"access_token":"x","expires_in":-5,"refresh_token":5,"scope":null}')
tr("bom", 200, b'\xef\xbb\xbf{"access_token":"short"}')

# ---- id_token_and_client_info: mode byte, then raw text (even) or JSON payload (odd) ----
def itc(name, mode, data):
    write("id_token_and_client_info", name, bytes([mode]) + (data if isinstance(data, bytes) else data.encode()))

itc("jwt-entra", 0, ID_TOKEN)
itc("jwt-adfs", 0, jwt({"aud": "microsoft:identityserver:app", "iss": "https://fs.contoso.example/adfs", "iat": 1700000000,
    "exp": 1700003600, "sub": "Zm9vYmFyYmF6", "upn": "alice@contoso.example", "unique_name": "CONTOSO\\alice", "sid": "S-1-5-21"}))
itc("jwt-b2c", 0, jwt({"ver": "1.0", "iss": "https://contoso.b2clogin.com/tid/v2.0/", "sub": "s", "aud": [CLIENT, "other"],
    "exp": 1.7e9, "nonce": "n", "iat": 1700000000, "auth_time": 1700000000, "emails": ["a@b.example"], "tfp": "B2C_1_signin"}))
itc("jwt-unsigned", 0, b64u('{"alg":"none"}') + "." + b64u(json.dumps({"sub": "s", "email": "e@x"})) + ".")
itc("jwt-padded", 0, b64u("{}", True) + "." + b64u(json.dumps({"oid": "o"}), True) + ".sig")
itc("client-info", 0, CLIENT_INFO)
itc("client-info-padded", 0, b64u(json.dumps({"uid": UID, "utid": UTID}), True))
itc("client-info-uid-only", 0, b64u('{"uid":"u"}'))
itc("garbage", 0, "a.!!!.c")
itc("payload-entra", 1, json.dumps(ENTRA_CLAIMS))
itc("payload-types", 1, '{"sub":"s","aud":["a","b"],"exp":"soon","extra":{"nested":[1,2,{"x":null}]}}')
itc("payload-client-info", 1, json.dumps({"uid": UID, "utid": UTID}))
itc("payload-client-info-empty", 1, '{"uid":"","utid":null}')
itc("payload-array", 1, "[1]")

# ---- cache_loader ----
PY_CACHE = {
    "AccessToken": {
        f"{HID}-login.microsoftonline.com-accesstoken-{CLIENT}-common-user.read email openid profile": {
            "credential_type": "AccessToken", "secret": "eyJ0eXAiOi...fake-access-token", "home_account_id": HID,
            "environment": "login.microsoftonline.com", "client_id": CLIENT, "target": "User.Read email openid profile",
            "realm": "common", "token_type": "Bearer", "cached_at": "1700000000", "expires_on": "1700003599",
            "extended_expires_on": "1700003599"}},
    "Account": {
        f"{HID}-login.microsoftonline.com-common": {
            "home_account_id": HID, "environment": "login.microsoftonline.com", "realm": "common",
            "local_account_id": UID, "username": "alice@contoso.example", "authority_type": "MSSTS",
            "account_source": "authorization_code"}},
    "IdToken": {
        f"{HID}-login.microsoftonline.com-idtoken-{CLIENT}-common-": {
            "credential_type": "IdToken", "secret": "eyJ0eXAiOi...fake-id-token", "home_account_id": HID,
            "environment": "login.microsoftonline.com", "realm": "common", "client_id": CLIENT}},
    "RefreshToken": {
        f"{HID}-login.microsoftonline.com-refreshtoken-{CLIENT}--user.read email openid profile": {
            "credential_type": "RefreshToken", "secret": "0.AAAA...fake-refresh-token", "home_account_id": HID,
            "environment": "login.microsoftonline.com", "client_id": CLIENT, "target": "User.Read email openid profile",
            "last_modification_time": "1700000000"}},
    "AppMetadata": {
        f"appmetadata-login.microsoftonline.com-{CLIENT}": {"client_id": CLIENT, "environment": "login.microsoftonline.com"}},
}
write("cache_loader", "python-spec-1.7.json", json.dumps(PY_CACHE, indent=4))
NET_CACHE = {
    "AccessToken": {
        f"{HID}-login.windows.net-accesstoken-{CLIENT}-{UTID}-email openid profile user.read": {
            "home_account_id": HID, "environment": "login.windows.net", "client_info": CLIENT_INFO, "client_id": CLIENT,
            "secret": "net-at", "credential_type": "AccessToken", "realm": UTID, "target": "email openid profile User.Read",
            "cached_at": "1700000000", "expires_on": "1700003599", "extended_expires_on": "1700003599",
            "ext_expires_on": "1700003599", "refresh_on": "1700001800"},
        f"{HID}-login.windows.net-atext-{CLIENT}-{UTID}-user.read-abc": {
            "home_account_id": HID, "environment": "login.windows.net", "client_id": CLIENT, "secret": "net-at-ext",
            "credential_type": "ATExt", "realm": UTID, "target": "User.Read", "cached_at": "1700000000",
            "expires_on": "1700003599", "ext": {"k1": "v1"}, "kid": "key-1", "token_type": "pop",
            "user_assertion_hash": "hash"}},
    "RefreshToken": {
        f"{HID}-login.windows.net-refreshtoken-1--": {
            "home_account_id": HID, "environment": "login.windows.net", "client_info": CLIENT_INFO, "client_id": CLIENT,
            "secret": "net-frt", "credential_type": "RefreshToken", "family_id": "1"}},
    "IdToken": {
        f"{HID}-login.windows.net-idtoken-{CLIENT}-{UTID}-": {
            "home_account_id": HID, "environment": "login.windows.net", "client_info": CLIENT_INFO, "client_id": CLIENT,
            "secret": ID_TOKEN, "credential_type": "IdToken", "realm": UTID}},
    "Account": {
        f"{HID}-login.windows.net-{UTID}": {
            "home_account_id": HID, "environment": "login.windows.net", "client_info": CLIENT_INFO,
            "username": "alice@contoso.example", "name": "Alice Example", "local_account_id": UID, "realm": UTID,
            "authority_type": "MSSTS", "wam_account_ids": {CLIENT: "wam-1"}}},
    "AppMetadata": {
        f"appmetadata-login.windows.net-{CLIENT}": {"environment": "login.windows.net", "family_id": "1", "client_id": CLIENT}},
    "WamAccountIds": {"x": {"y": 1}},
}
write("cache_loader", "dotnet.json", json.dumps(NET_CACHE, indent=2))
write("cache_loader", "app-only-python.json", json.dumps({"AccessToken": {"k": {
    "credential_type": "AccessToken", "secret": "app-at", "home_account_id": None, "environment": "login.microsoftonline.com",
    "client_id": CLIENT, "realm": UTID, "target": "https://graph.microsoft.com/.default", "token_type": "Bearer",
    "cached_at": 1700000000, "expires_on": "garbage", "key_id": "k1"}}, "AppMetadata": {}}))
write("cache_loader", "unparsed-and-unknown.json", json.dumps({
    "AccessToken": {"bad": {"secret": 5}, "worse": [1]}, "refreshtoken": {"rt": {"secret": "s", "environment": "e",
    "client_id": "c", "home_account_id": True, "last_modification_time": 1.5}}, "Extra": [1, 2]}))
write("cache_loader", "empty-object.json", "{}")
write("cache_loader", "whitespace.json", " \n")

# ---- authority: URL [\n tenant] ----
for i, a in enumerate([
    "https://login.microsoftonline.com/common", "https://login.microsoftonline.com/organizations/",
    f"https://login.microsoftonline.com/{UTID}\n{UTID}", "https://Login.Windows.Net/contoso.onmicrosoft.com\ncommon",
    "https://login.microsoftonline.us/consumers", "https://login.partner.microsoftonline.cn/common",
    "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signupsignin",
    "https://login.microsoftonline.com/tfp/contoso.onmicrosoft.com/B2C_1_susi",
    "https://fabrikam.b2clogin.cn/tfp/fabrikam/b2c_1_edit", "https://contoso.ciamlogin.com",
    "https://contoso.ciamlogin.com/contoso.onmicrosoft.com", "https://fs.contoso.example/adfs",
    "https://fs.contoso.example/adfs/", "https://accounts.example.com", "https://id.example:8443/realms/main/",
    "http://127.0.0.1:3000", "http://localhost:8080/issuer", "http://[::1]:9000/oidc",
    "http://10.0.0.1/common", "https://u:p@login.microsoftonline.com/common",
    "https://login.microsoftonline.com/common?x=1#f", "https://login.microsoftonline.com/",
    "https://xn--bcher-kva.example/%41%2Fb/../c", "ftp://login.microsoftonline.com/common",
]):
    write("authority", f"url-{i:02}", a)
write("authority", "metadata-entra", json.dumps({
    "token_endpoint": f"https://login.microsoftonline.com/{UTID}/oauth2/v2.0/token",
    "authorization_endpoint": f"https://login.microsoftonline.com/{UTID}/oauth2/v2.0/authorize",
    "device_authorization_endpoint": f"https://login.microsoftonline.com/{UTID}/oauth2/v2.0/devicecode",
    "issuer": f"https://login.microsoftonline.com/{UTID}/v2.0", "jwks_uri": "https://login.microsoftonline.com/common/discovery/v2.0/keys",
    "response_types_supported": ["code", "id_token"], "scopes_supported": ["openid", "profile", "email", "offline_access"]}))
write("authority", "metadata-local", json.dumps({
    "issuer": "http://127.0.0.1:3000", "token_endpoint": "http://127.0.0.1:3000/token",
    "authorization_endpoint": "http://localhost:3000/auth"}))
write("authority", "metadata-insecure", '{"token_endpoint":"http://evil.example/token","authorization_endpoint":"https://id.example/auth","device_authorization_endpoint":"file:///x"}')

# ---- redirect_query: mode byte + [state \n] query ----
def rq(name, mode, data):
    write("redirect_query", name, bytes([mode]) + data.encode())
rq("code-ok", 0, "s1\ncode=0.AAAAabc-def_ghi&state=s1&session_state=8f1c&client_info=" + CLIENT_INFO)
rq("code-honest", 1, "code=M.R3_BAY.abc&state=9f1c3e2a1111&session_state=x")
rq("code-near-miss", 2, "code=abc&state=9f1c3e2a1111")
rq("code-prefix", 3, "code=abc&state=9f1c3e2a1111")
rq("error-denied", 1, "error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent.&state=st")
rq("error-wrong-state", 0, "good\nerror=access_denied&state=evil")
rq("missing-code", 1, "state=s1&code=")
rq("dup-state", 0, "b\nstate=a&state=b&code=c")
rq("encoded", 1, "code=%E2%9C%93+x&state=%00%FF%2B&client_info=eyJ1aWQiOiJ1In0%3D")
rq("empty-state", 0, "\ncode=abc&state=")

# ---- device_code_response ----
def dc(name, body):
    write("device_code_response", name, body)
dc("entra", json.dumps({"user_code": "GTLQ4ZK3F", "device_code": "GAQABAAEAAAD--DLA3VO7QrddgJg7WevrZLPrfakedevicecode",
    "verification_uri": "https://microsoft.com/devicelogin", "expires_in": 900, "interval": 5,
    "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code GTLQ4ZK3F to authenticate."}))
dc("adfs-v1", json.dumps({"user_code": "ABCD-EFGH", "device_code": "dc", "verification_url": "https://fs.contoso.example/adfs/oauth2/deviceauth",
    "expires_in": "900", "interval": "0"}))
dc("rfc8628", json.dumps({"device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS", "user_code": "WDJB-MJHT",
    "verification_uri": "https://example.com/device", "verification_uri_complete": "https://example.com/device?user_code=WDJB-MJHT",
    "expires_in": 1800, "interval": 5}))
dc("error", '{"error":"invalid_client","error_description":"AADSTS7000218: The request body must contain client_assertion.","error_codes":[7000218],"device_code":"leak-me-please-0123456789"}')
dc("bad-uri", '{"device_code":"d","user_code":"u","verification_uri":"javascript:alert(1)","expires_in":1e300}')
dc("html", "<html><body>Bad Gateway GAQABAAEAAAD--DLA3VO7QrddgJg7WevrZLPrfakedevicecode</body></html>")
dc("missing", '{"device_code":"d","user_code":""}')
