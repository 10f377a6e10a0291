//! The unified cache schema shared by MSAL.NET, MSAL Python and MSAL Node: the five entry kinds.
//!
//! Reading accepts both dialects (Python's `key_id`, `target` on refresh tokens and JSON `null`
//! home account ids; .NET's `kid`, `ext_expires_on`, missing `token_type` meaning Bearer, and
//! `client_info` on every entry). Unknown fields are kept in each entry's `extra` map and written
//! back untouched. Timestamps are strings of Unix seconds; numbers are accepted too, and anything
//! unparsable reads as 0 ("int or 0", as MSAL.NET does), which makes a token count as expired.
//!
//! String fields are [`ArcStr`]s: entries read by one load share each repeated
//! value (see the crate documentation), and cloning an entry copies no bytes. Build them with
//! `.into()` from a `&str` or `String`; read them as `&str` (`&*field`, `field.as_str()`) or
//! compare them with `==` against either.
//!
//! The tokens themselves (`secret`) are [`SharedSecret`]s: the same shared string, but `Debug`
//! prints `SharedSecret([redacted])` and reading one takes an explicit `expose_secret()`, so the
//! entries' `Debug` is derived and a token cannot reach a log by accident. Fields another MSAL
//! wrote that msal-rs does not know (`extra`) show only their names in `Debug`.

//!
//! This module holds the entry types; reading them is in `read` (also what a cache load types
//! entries with), writing them in `write` (also what a cache save writes them with). Both are
//! serde trait impls written by hand, each saying which benchmark shows why.

pub(crate) mod read;
pub(crate) mod write;

use std::sync::LazyLock;

use serde_json::{Map, Value};

use arcstr::ArcStr;
use msal_core::SharedSecret;

/// Unknown fields of an entry, kept for the round trip. Reads and writes like a
/// `serde_json::Map` (it dereferences to one).
///
/// Almost every entry has none, and an empty `Map` is 72 bytes inline; this is 8 (a `Box` only
/// when a field is present), which is a quarter of the per-entry metadata of a large cache.
#[derive(Clone, Default, PartialEq)]
pub struct Extra(Option<Box<Map<String, Value>>>);

static NO_FIELDS: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);

impl std::ops::Deref for Extra {
    type Target = Map<String, Value>;
    fn deref(&self) -> &Map<String, Value> {
        self.0.as_deref().unwrap_or(&NO_FIELDS)
    }
}

impl std::ops::DerefMut for Extra {
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        self.0.get_or_insert_with(Default::default)
    }
}

/// Names only: fields another MSAL wrote are not ours to interpret, and may hold secrets.
impl std::fmt::Debug for Extra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.keys()).finish()
    }
}

impl From<Map<String, Value>> for Extra {
    fn from(map: Map<String, Value>) -> Self {
        Extra((!map.is_empty()).then(|| Box::new(map)))
    }
}

/// An access token entry (`AccessToken` section).
#[derive(Clone, Debug)]
pub struct AccessTokenEntry {
    /// `AccessToken` (.NET writes `ATExt` for tokens with extra key components).
    pub credential_type: ArcStr,
    /// The access token.
    pub secret: SharedSecret,
    /// `{uid}.{utid}`; `null` for app-only tokens (MSAL Python writes `null`).
    pub home_account_id: Option<ArcStr>,
    /// The host the token was issued by.
    pub environment: ArcStr,
    /// The client (application) id.
    pub client_id: ArcStr,
    /// The tenant.
    pub realm: ArcStr,
    /// The scopes, space-separated.
    pub target: ArcStr,
    /// When it was written (Unix seconds).
    pub cached_at: u64,
    /// When it expires (Unix seconds).
    pub expires_on: u64,
    /// Extended expiry (Unix seconds); .NET's `ext_expires_on` is read when this is absent.
    pub extended_expires_on: u64,
    /// When to refresh proactively (Unix seconds), if the server said.
    pub refresh_on: Option<u64>,
    /// Token type; absent means `Bearer` (.NET omits it).
    pub token_type: Option<ArcStr>,
    /// Fields msal-rs does not interpret (`kid`, `key_id`, `ext`, `client_info`, ...).
    pub extra: Extra,
}

fn access_token_type() -> ArcStr {
    arcstr::literal!("AccessToken")
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
            && (self.extra.is_empty()
                || !(self.extra.contains_key("key_id")
                    || self.extra.contains_key("kid")
                    || self.extra.contains_key("ext")
                    || self.extra.contains_key("user_assertion_hash")))
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

    /// The id of the key this token is bound to: MSAL Python's `key_id`, else MSAL.NET's `kid`.
    pub fn key_id(&self) -> Option<&str> {
        if self.extra.is_empty() {
            return None;
        }
        ["key_id", "kid"]
            .iter()
            .find_map(|f| self.extra.get(*f).and_then(Value::as_str))
    }

    /// Whether this entry is a token of `token_type` (`pop`, `ssh-cert`) bound to `key_id`
    /// (both compared ignoring ASCII case), without .NET's extra key components and not an
    /// on-behalf-of token.
    pub fn is_bound_to(&self, token_type: &str, key_id: &str) -> bool {
        self.is_key_bound(token_type, key_id) && !self.extra.contains_key("user_assertion_hash")
    }

    /// [`is_bound_to`](Self::is_bound_to) whether or not it is an on-behalf-of token (the
    /// on-behalf-of lookup checks the assertion hash itself).
    pub(crate) fn is_key_bound(&self, token_type: &str, key_id: &str) -> bool {
        self.credential_type.eq_ignore_ascii_case("AccessToken")
            && self
                .token_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(token_type))
            && self
                .key_id()
                .is_some_and(|k| k.eq_ignore_ascii_case(key_id))
            && !self.extra.contains_key("ext")
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
#[derive(Clone, Debug)]
pub struct RefreshTokenEntry {
    /// `RefreshToken`.
    pub credential_type: ArcStr,
    /// The refresh token.
    pub secret: SharedSecret,
    /// `{uid}.{utid}`.
    pub home_account_id: ArcStr,
    /// The host the token was issued by.
    pub environment: ArcStr,
    /// The client (application) id.
    pub client_id: ArcStr,
    /// Scopes of the response that created it (Python writes it; informational only).
    pub target: Option<ArcStr>,
    /// When it was last rotated (Unix seconds; Python only).
    pub last_modification_time: Option<u64>,
    /// The FOCI family (`"1"`) for family refresh tokens.
    pub family_id: Option<ArcStr>,
    /// Fields msal-rs does not interpret.
    pub extra: Extra,
}

fn refresh_token_type() -> ArcStr {
    arcstr::literal!("RefreshToken")
}

impl RefreshTokenEntry {
    /// Whether this is a family (FOCI) refresh token.
    pub fn is_family(&self) -> bool {
        self.family_id.as_deref().is_some_and(|f| !f.is_empty())
    }
}

/// An ID token entry (`IdToken` section).
#[derive(Clone, Debug)]
pub struct IdTokenEntry {
    /// `IdToken`.
    pub credential_type: ArcStr,
    /// The raw JWT.
    pub secret: SharedSecret,
    /// `{uid}.{utid}`.
    pub home_account_id: ArcStr,
    /// The host the token was issued by.
    pub environment: ArcStr,
    /// The tenant.
    pub realm: ArcStr,
    /// The client (application) id.
    pub client_id: ArcStr,
    /// Fields msal-rs does not interpret.
    pub extra: Extra,
}

fn id_token_type() -> ArcStr {
    arcstr::literal!("IdToken")
}

/// An account entry (`Account` section): one per home account, environment and tenant.
#[derive(Debug, Clone)]
pub struct AccountEntry {
    /// `{uid}.{utid}`.
    pub home_account_id: ArcStr,
    /// The host the account signed in at.
    pub environment: ArcStr,
    /// The tenant of this profile.
    pub realm: ArcStr,
    /// Object id in `realm` (`oid`, else `sub`).
    pub local_account_id: ArcStr,
    /// Sign-in name.
    pub username: ArcStr,
    /// `MSSTS`, `ADFS`, `MSA` or `Other`.
    pub authority_type: ArcStr,
    /// The grant that created it (Python), e.g. `authorization_code`.
    pub account_source: Option<ArcStr>,
    /// Display name (.NET writes it).
    pub name: Option<ArcStr>,
    /// Fields msal-rs does not interpret.
    pub extra: Extra,
}

/// An app metadata entry (`AppMetadata` section): which FOCI family a client belongs to.
#[derive(Debug, Clone)]
pub struct AppMetadataEntry {
    /// The client (application) id.
    pub client_id: ArcStr,
    /// The host.
    pub environment: ArcStr,
    /// The family, when the client is a member.
    pub family_id: Option<ArcStr>,
    /// Fields msal-rs does not interpret.
    pub extra: Extra,
}

fn value_to_u64(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        _ => None,
    }
}

// The fields each kind reads and writes by name, in the order MSAL Python writes them; any
// other field is kept in `extra`.
const ACCESS_TOKEN_FIELDS: &[&str; 12] = &[
    "credential_type",
    "secret",
    "home_account_id",
    "environment",
    "client_id",
    "realm",
    "target",
    "cached_at",
    "expires_on",
    "extended_expires_on",
    "refresh_on",
    "token_type",
];
const REFRESH_TOKEN_FIELDS: &[&str; 8] = &[
    "credential_type",
    "secret",
    "home_account_id",
    "environment",
    "client_id",
    "target",
    "last_modification_time",
    "family_id",
];
const ID_TOKEN_FIELDS: &[&str; 6] = &[
    "credential_type",
    "secret",
    "home_account_id",
    "environment",
    "realm",
    "client_id",
];
const ACCOUNT_FIELDS: &[&str; 8] = &[
    "home_account_id",
    "environment",
    "realm",
    "local_account_id",
    "username",
    "authority_type",
    "account_source",
    "name",
];
const APP_METADATA_FIELDS: &[&str; 3] = &["client_id", "environment", "family_id"];

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
    fn a_null_client_id_round_trips_as_null() {
        // MSAL Python's system-assigned managed identity token: it finds it again only when
        // `client_id` is written back as null.
        let e: AccessTokenEntry = serde_json::from_str(
            r#"{"credential_type":"AccessToken","secret":"s","home_account_id":null,"environment":"localhost",
                "client_id":null,"realm":"managed_identity","target":"https://r","expires_on":"100"}"#,
        )
        .unwrap();
        assert_eq!(e.client_id, "");
        let back = serde_json::to_value(&e).unwrap();
        assert_eq!(back["client_id"], Value::Null);
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
    fn a_repeated_field_reads_as_a_json_value_would_last_one_wins() {
        // Found by the cache_loader fuzz corpus: the entry must type the same whether read
        // directly or after being written back verbatim (where repeats are already merged).
        let e: RefreshTokenEntry = serde_json::from_str(
            r#"{"secret": {"not": "a string"}, "environment": "e", "client_id": "c",
                "secret": "s2", "x": 1, "x": 2}"#,
        )
        .unwrap();
        assert_eq!(e.secret, "s2");
        assert_eq!(e.extra["x"], 2);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let e: RefreshTokenEntry = serde_json::from_str(
            r#"{"secret":"super-secret-rt","home_account_id":"h","environment":"e","client_id":"c"}"#,
        )
        .unwrap();
        assert!(!format!("{e:?}").contains("super-secret-rt"));
    }

    #[test]
    fn debug_shows_unknown_fields_by_name_only() {
        let e: AccessTokenEntry = serde_json::from_str(
            r#"{"credential_type":"AccessToken","secret":"AT-91ce","home_account_id":"u.t","environment":"e",
                "client_id":"c","realm":"r","target":"a","cached_at":"1","expires_on":"2",
                "x_vendor_token":"VENDOR-SECRET-44"}"#,
        )
        .unwrap();
        let shown = format!("{e:?}");
        assert!(
            !shown.contains("AT-91ce") && !shown.contains("VENDOR-SECRET-44"),
            "{shown}"
        );
        assert!(shown.contains("SharedSecret([redacted])"), "{shown}");
        assert!(
            shown.contains("x_vendor_token") && shown.contains("u.t"),
            "{shown}"
        );
    }
}
