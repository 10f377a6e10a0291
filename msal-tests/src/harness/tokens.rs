//! Unsigned JWTs, ID tokens, `client_info` and token responses for the signed-in user.

use base64::Engine;
use serde_json::{json, Value};

use super::{CLIENT_ID, T0, UID, USERNAME, UTID};

/// Base64url without padding (the JWT and `client_info` encoding).
pub fn b64(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// The `client_info` Entra returns for this user.
pub fn client_info(uid: &str, utid: &str) -> String {
    b64(&json!({ "uid": uid, "utid": utid }).to_string())
}

/// An unsigned JWT with these claims (msal-rs reads ID tokens without checking signatures).
pub fn jwt(claims: Value) -> String {
    format!(
        "{}.{}.sig",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&claims.to_string())
    )
}

/// The signed-in user's ID token for [`CLIENT_ID`], issued at [`T0`].
pub fn id_token() -> String {
    id_token_at(T0)
}

/// The signed-in user's ID token for [`CLIENT_ID`], issued at `issued_at` (Unix seconds) and
/// valid an hour.
pub fn id_token_at(issued_at: u64) -> String {
    jwt(json!({
        "aud": CLIENT_ID, "iss": format!("https://login.microsoftonline.com/{UTID}/v2.0"),
        "sub": "subject", "oid": UID, "tid": UTID, "preferred_username": USERNAME,
        "name": "Alice", "iat": issued_at, "exp": issued_at + 3600,
    }))
}

/// A successful token response body (ID token issued at [`T0`]).
pub fn token_response(
    access_token: &str,
    refresh_token: Option<&str>,
    scope: &str,
    expires_in: u64,
) -> Value {
    token_response_at(access_token, refresh_token, scope, expires_in, T0)
}

/// A successful token response body whose ID token is issued at `issued_at` (for tests on
/// the real clock).
pub fn token_response_at(
    access_token: &str,
    refresh_token: Option<&str>,
    scope: &str,
    expires_in: u64,
    issued_at: u64,
) -> Value {
    let mut v = json!({
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access_token,
        "id_token": id_token_at(issued_at),
        "client_info": client_info(UID, UTID),
    });
    if let Some(rt) = refresh_token {
        v["refresh_token"] = json!(rt);
    }
    v
}
