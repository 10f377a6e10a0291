//! The tokens the fake issues: JWT-shaped (unsigned) access and ID tokens, and reading an
//! access token's claims back, as an API under test "validates" its callers' tokens.

use std::collections::BTreeSet;

use base64::Engine;
use serde_json::{json, Value};

use super::directory::User;
use crate::harness::{client_info, jwt, ENV};

/// The `iss` of every token of `tenant_id` (Entra's v2.0 issuer).
pub fn issuer(tenant_id: &str) -> String {
    format!("https://{ENV}/{tenant_id}/v2.0")
}

/// The claims of an access token the fake issued, as an API reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessTokenClaims {
    /// `aud`: the API's client id (for scopes of a registered app) or the resource
    /// (`https://graph.microsoft.com`).
    pub aud: String,
    /// `iss`: `https://login.microsoftonline.com/{tid}/v2.0`.
    pub iss: String,
    /// `tid`: the tenant.
    pub tid: String,
    /// `oid`: the user's (or, for app tokens, the app's) object id.
    pub oid: String,
    /// `azp`: the client the token was issued to.
    pub azp: String,
    /// `scp`: the delegated permissions (user tokens), e.g. `{"User.Read"}`.
    pub scp: BTreeSet<String>,
    /// `roles`: the application permissions (app tokens).
    pub roles: BTreeSet<String>,
    /// `preferred_username` (user tokens).
    pub preferred_username: Option<String>,
    /// `iat` (Unix seconds, on the fake's clock).
    pub iat: u64,
    /// `exp` (Unix seconds, on the fake's clock).
    pub exp: u64,
    /// `uti`: unique per token.
    pub uti: String,
    /// `idtyp`: `user` or `app`.
    pub idtyp: String,
}

/// Why [`FakeEntra::validate`](super::FakeEntra::validate) refused a token: what an API
/// answers 401 for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenValidationError {
    /// Not a token this fake issued (not a JWT, or never issued).
    #[error("not an access token issued by the fake identity provider")]
    Unknown,
    /// Issued for another audience.
    #[error("the token is for audience {actual}, not {expected}")]
    WrongAudience {
        /// The audience the API expects.
        expected: String,
        /// The token's `aud`.
        actual: String,
    },
    /// Expired on the fake's clock.
    #[error("the token expired at {exp} (Unix seconds); it is now {now}")]
    Expired {
        /// The token's `exp`.
        exp: u64,
        /// The fake's clock.
        now: u64,
    },
}

/// Who a token is for, and what it grants.
pub(crate) enum Subject<'a> {
    /// A user's delegated token through `client`.
    User(&'a User),
    /// The app's own token (client credentials).
    App { tenant_id: &'a str },
}

/// Everything an access token says.
pub(crate) struct Minted<'a> {
    pub(crate) subject: Subject<'a>,
    pub(crate) client_id: &'a str,
    pub(crate) aud: &'a str,
    pub(crate) permissions: &'a BTreeSet<String>,
    pub(crate) iat: u64,
    pub(crate) lifetime: u64,
    pub(crate) serial: u64,
}

/// A JWT-shaped access token (unsigned) with the claims an API reads.
pub(crate) fn access_token(m: &Minted<'_>) -> String {
    let permissions = m.permissions.iter().cloned().collect::<Vec<_>>().join(" ");
    let mut claims = json!({
        "aud": m.aud, "azp": m.client_id, "appid": m.client_id, "ver": "2.0",
        "iat": m.iat, "nbf": m.iat, "exp": m.iat + m.lifetime,
        "uti": format!("fake-at-{}", m.serial),
    });
    match m.subject {
        Subject::User(u) => {
            claims["iss"] = json!(issuer(&u.tenant_id));
            claims["tid"] = json!(u.tenant_id);
            claims["oid"] = json!(u.oid);
            claims["sub"] = json!(u.oid);
            claims["preferred_username"] = json!(u.username);
            claims["name"] = json!(u.name);
            claims["scp"] = json!(permissions);
            claims["idtyp"] = json!("user");
        }
        Subject::App { tenant_id } => {
            claims["iss"] = json!(issuer(tenant_id));
            claims["tid"] = json!(tenant_id);
            claims["oid"] = json!(m.client_id);
            claims["sub"] = json!(m.client_id);
            claims["roles"] = json!(m.permissions);
            claims["idtyp"] = json!("app");
        }
    }
    jwt(claims)
}

/// `user`'s ID token for `client_id`, with `nonce` when the sign-in sent one.
pub(crate) fn id_token(user: &User, client_id: &str, iat: u64, nonce: Option<&str>) -> String {
    let mut claims = json!({
        "aud": client_id, "iss": issuer(&user.tenant_id), "sub": user.oid, "oid": user.oid,
        "tid": user.tenant_id, "preferred_username": user.username, "name": user.name,
        "iat": iat, "nbf": iat, "exp": iat + 3600, "ver": "2.0",
    });
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    jwt(claims)
}

/// `user`'s `client_info`.
pub(crate) fn user_client_info(user: &User) -> String {
    client_info(&user.oid, &user.tenant_id)
}

/// The claims of a JWT-shaped token (no signature check), `None` if it is not one.
pub fn decode_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Read the claims of an access token the fake issued (`None` for anything else).
pub(crate) fn read_access_token(token: &str) -> Option<AccessTokenClaims> {
    let c = decode_claims(token)?;
    let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
    let n = |k: &str| c.get(k).and_then(Value::as_u64);
    let set = |v: Option<&Value>| -> BTreeSet<String> {
        match v {
            Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => BTreeSet::new(),
        }
    };
    let uti = s("uti").filter(|u| u.starts_with("fake-at-"))?;
    Some(AccessTokenClaims {
        aud: s("aud")?,
        iss: s("iss")?,
        tid: s("tid")?,
        oid: s("oid")?,
        azp: s("azp")?,
        scp: set(c.get("scp")),
        roles: set(c.get("roles")),
        preferred_username: s("preferred_username"),
        iat: n("iat")?,
        exp: n("exp")?,
        uti,
        idtyp: s("idtyp")?,
    })
}
