//! The signed HTTP request (SHR): the token from the identity provider wrapped, with the
//! request it is for, in a JWS signed by the PoP key (MSAL.NET's `PopAuthenticationOperation`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::key::PopKey;
use super::request::PopRequest;
use crate::Error;

/// The compact JWS `header.payload.signature`: header `{"alg":"RS256","kid":..,"typ":"pop"}`,
/// payload `{at, ts, m, u, p, nonce, cnf: {jwk}}`.
pub(crate) fn sign(
    key: &dyn PopKey,
    key_id: &str,
    request: &PopRequest,
    access_token: &str,
    now: u64,
) -> Result<String, Error> {
    let header = serde_json::json!({ "alg": "RS256", "kid": key_id, "typ": "pop" });
    let jwk: serde_json::Value = serde_json::from_str(&key.public_jwk().canonical_json())
        .map_err(|e| Error::Internal(format!("canonical JWK is not JSON: {e}")))?;
    let nonce = request
        .nonce
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let payload = serde_json::json!({
        "at": access_token,
        "ts": now,
        "m": request.method,
        "u": request.host,
        "p": request.path,
        "nonce": nonce,
        "cnf": { "jwk": jwk },
    });
    let mut jws = URL_SAFE_NO_PAD.encode(header.to_string());
    jws.push('.');
    jws.push_str(&URL_SAFE_NO_PAD.encode(payload.to_string()));
    let signature = key
        .sign_rs256(jws.as_bytes())
        .map_err(|e| Error::Credential {
            message: "the proof-of-possession key could not sign the request".into(),
            source: Some(crate::SharedError::new(e)),
        })?;
    jws.push('.');
    jws.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(jws)
}
