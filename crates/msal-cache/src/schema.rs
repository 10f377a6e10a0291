//! The unified cache schema shared by MSAL.NET, MSAL Python and MSAL Node: the five entry kinds.
//!
//! Reading accepts both dialects (Python's `key_id`, `target` on refresh tokens and JSON `null`
//! home account ids; .NET's `kid`, `ext_expires_on`, missing `token_type` meaning Bearer, and
//! `client_info` on every entry). Unknown fields are kept in each entry's `extra` map and written
//! back untouched. Timestamps are strings of Unix seconds; numbers are accepted too, and anything
//! unparsable reads as 0 ("int or 0", as MSAL.NET does), which makes a token count as expired.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Unknown fields of an entry, kept for the round trip.
pub type Extra = Map<String, Value>;

/// An access token entry (`AccessToken` section).
#[derive(Clone, Serialize, Deserialize)]
pub struct AccessTokenEntry {
    /// `AccessToken` (.NET writes `ATExt` for tokens with extra key components).
    #[serde(default = "access_token_type", deserialize_with = "lenient_string")]
    pub credential_type: String,
    /// The access token.
    #[serde(deserialize_with = "lenient_string")]
    pub secret: String,
    /// `{uid}.{utid}`; `null` for app-only tokens (MSAL Python writes `null`).
    #[serde(default)]
    pub home_account_id: Option<String>,
    /// The host the token was issued by.
    #[serde(deserialize_with = "lenient_string")]
    pub environment: String,
    /// The client (application) id.
    #[serde(deserialize_with = "lenient_string")]
    pub client_id: String,
    /// The tenant.
    #[serde(default, deserialize_with = "lenient_string")]
    pub realm: String,
    /// The scopes, space-separated.
    #[serde(default, deserialize_with = "lenient_string")]
    pub target: String,
    /// When it was written (Unix seconds).
    #[serde(default, with = "timestamp")]
    pub cached_at: u64,
    /// When it expires (Unix seconds).
    #[serde(default, with = "timestamp")]
    pub expires_on: u64,
    /// Extended expiry (Unix seconds); .NET's `ext_expires_on` is read when this is absent.
    #[serde(default, with = "timestamp")]
    pub extended_expires_on: u64,
    /// When to refresh proactively (Unix seconds), if the server said.
    #[serde(
        default,
        with = "optional_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub refresh_on: Option<u64>,
    /// Token type; absent means `Bearer` (.NET omits it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Fields msal-rs does not interpret (`kid`, `key_id`, `ext`, `client_info`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

fn access_token_type() -> String {
    "AccessToken".to_owned()
}

impl AccessTokenEntry {
    /// Whether this entry is a plain Bearer token that a Bearer request may use: not bound to a
    /// key (`key_id`/`kid`), not carrying .NET's extra key components, not PoP or SSH.
    pub fn is_plain_bearer(&self) -> bool {
        self.credential_type.eq_ignore_ascii_case("AccessToken")
            && self
                .token_type
                .as_deref()
                .is_none_or(|t| t.eq_ignore_ascii_case("bearer"))
            && !self.extra.contains_key("key_id")
            && !self.extra.contains_key("kid")
            && !self.extra.contains_key("ext")
            && !self.extra.contains_key("user_assertion_hash")
    }

    /// Whether this entry is a Bearer on-behalf-of token: a plain Bearer token except that it
    /// carries the `user_assertion_hash` it was obtained with.
    pub fn is_on_behalf_of_bearer(&self) -> bool {
        self.credential_type.eq_ignore_ascii_case("AccessToken")
            && self
                .token_type
                .as_deref()
                .is_none_or(|t| t.eq_ignore_ascii_case("bearer"))
            && !self.extra.contains_key("key_id")
            && !self.extra.contains_key("kid")
            && !self.extra.contains_key("ext")
            && self.extra.contains_key("user_assertion_hash")
    }

    /// The extended expiry, falling back to .NET's `ext_expires_on`.
    pub fn extended_expiry(&self) -> u64 {
        if self.extended_expires_on != 0 {
            return self.extended_expires_on;
        }
        self.extra
            .get("ext_expires_on")
            .and_then(value_to_u64)
            .unwrap_or(0)
    }
}

/// A refresh token entry (`RefreshToken` section). Refresh tokens have no realm.
#[derive(Clone, Serialize, Deserialize)]
pub struct RefreshTokenEntry {
    /// `RefreshToken`.
    #[serde(default = "refresh_token_type", deserialize_with = "lenient_string")]
    pub credential_type: String,
    /// The refresh token.
    #[serde(deserialize_with = "lenient_string")]
    pub secret: String,
    /// `{uid}.{utid}`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub home_account_id: String,
    /// The host the token was issued by.
    #[serde(deserialize_with = "lenient_string")]
    pub environment: String,
    /// The client (application) id.
    #[serde(deserialize_with = "lenient_string")]
    pub client_id: String,
    /// Scopes of the response that created it (Python writes it; informational only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// When it was last rotated (Unix seconds; Python only).
    #[serde(
        default,
        with = "optional_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modification_time: Option<u64>,
    /// The FOCI family (`"1"`) for family refresh tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_id: Option<String>,
    /// Fields msal-rs does not interpret.
    #[serde(flatten)]
    pub extra: Extra,
}

fn refresh_token_type() -> String {
    "RefreshToken".to_owned()
}

impl RefreshTokenEntry {
    /// Whether this is a family (FOCI) refresh token.
    pub fn is_family(&self) -> bool {
        self.family_id.as_deref().is_some_and(|f| !f.is_empty())
    }
}

/// An ID token entry (`IdToken` section).
#[derive(Clone, Serialize, Deserialize)]
pub struct IdTokenEntry {
    /// `IdToken`.
    #[serde(default = "id_token_type", deserialize_with = "lenient_string")]
    pub credential_type: String,
    /// The raw JWT.
    #[serde(deserialize_with = "lenient_string")]
    pub secret: String,
    /// `{uid}.{utid}`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub home_account_id: String,
    /// The host the token was issued by.
    #[serde(deserialize_with = "lenient_string")]
    pub environment: String,
    /// The tenant.
    #[serde(default, deserialize_with = "lenient_string")]
    pub realm: String,
    /// The client (application) id.
    #[serde(deserialize_with = "lenient_string")]
    pub client_id: String,
    /// Fields msal-rs does not interpret.
    #[serde(flatten)]
    pub extra: Extra,
}

fn id_token_type() -> String {
    "IdToken".to_owned()
}

/// An account entry (`Account` section): one per home account, environment and tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountEntry {
    /// `{uid}.{utid}`.
    #[serde(deserialize_with = "lenient_string")]
    pub home_account_id: String,
    /// The host the account signed in at.
    #[serde(deserialize_with = "lenient_string")]
    pub environment: String,
    /// The tenant of this profile.
    #[serde(default, deserialize_with = "lenient_string")]
    pub realm: String,
    /// Object id in `realm` (`oid`, else `sub`).
    #[serde(default, deserialize_with = "lenient_string")]
    pub local_account_id: String,
    /// Sign-in name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub username: String,
    /// `MSSTS`, `ADFS`, `MSA` or `Other`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub authority_type: String,
    /// The grant that created it (Python), e.g. `authorization_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_source: Option<String>,
    /// Display name (.NET writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fields msal-rs does not interpret.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An app metadata entry (`AppMetadata` section): which FOCI family a client belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppMetadataEntry {
    /// The client (application) id.
    #[serde(deserialize_with = "lenient_string")]
    pub client_id: String,
    /// The host.
    #[serde(deserialize_with = "lenient_string")]
    pub environment: String,
    /// The family, when the client is a member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_id: Option<String>,
    /// Fields msal-rs does not interpret.
    #[serde(flatten)]
    pub extra: Extra,
}

macro_rules! redacted_debug {
    ($ty:ty, $($field:ident),*) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("secret", &"[redacted]")
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}
redacted_debug!(
    AccessTokenEntry,
    home_account_id,
    environment,
    client_id,
    realm,
    target,
    expires_on,
    refresh_on
);
redacted_debug!(
    RefreshTokenEntry,
    home_account_id,
    environment,
    client_id,
    family_id,
    last_modification_time
);
redacted_debug!(IdTokenEntry, home_account_id, environment, client_id, realm);

fn value_to_u64(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        _ => None,
    }
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return Err(serde::de::Error::custom("expected a string")),
    })
}

mod timestamp {
    use super::*;

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        Ok(value_to_u64(&Value::deserialize(d)?).unwrap_or(0))
    }
}

mod optional_timestamp {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_str(&v.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(value_to_u64(&Value::deserialize(d)?).filter(|v| *v != 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dialect_access_token() {
        let e: AccessTokenEntry = serde_json::from_str(
            r#"{"credential_type":"AccessToken","secret":"s","home_account_id":"u.t","environment":"login.windows.net",
                "client_id":"c","realm":"t","target":"email openid profile User.Read","cached_at":"1","expires_on":"100",
                "ext_expires_on":"200","client_info":"xyz"}"#,
        )
        .unwrap();
        assert_eq!(e.extended_expiry(), 200);
        assert!(e.is_plain_bearer());
        assert_eq!(e.extra["client_info"], "xyz");
        let back = serde_json::to_value(&e).unwrap();
        assert_eq!(back["client_info"], "xyz");
        assert_eq!(back["expires_on"], "100");
    }

    #[test]
    fn python_dialect_app_token_and_garbage_timestamps() {
        let e: AccessTokenEntry = serde_json::from_str(
            r#"{"credential_type":"AccessToken","secret":"s","home_account_id":null,"environment":"e",
                "client_id":"c","realm":"r","target":"a","token_type":"Bearer","expires_on":"soon","key_id":"k"}"#,
        )
        .unwrap();
        assert_eq!(e.home_account_id, None);
        assert_eq!(e.expires_on, 0);
        assert!(!e.is_plain_bearer());
        let back = serde_json::to_value(&e).unwrap();
        assert!(back["home_account_id"].is_null());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let e: RefreshTokenEntry = serde_json::from_str(
            r#"{"secret":"super-secret-rt","home_account_id":"h","environment":"e","client_id":"c"}"#,
        )
        .unwrap();
        assert!(!format!("{e:?}").contains("super-secret-rt"));
    }
}
