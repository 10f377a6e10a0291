//! Managed identity: the identities, the sources, and how their answers read. No I/O.
//!
//! Every managed identity source (IMDS on a VM, App Service, Azure Arc, Cloud Shell, Service
//! Fabric, Azure Machine Learning) answers a token request with a JSON body that differs a
//! little from the OAuth one: numbers come as strings, some send `expires_in`, some only
//! `expires_on`, and each has its own error shape. [`parse_success`] and [`describe_error`]
//! read them all; they never panic and never put a token in an error.

use std::fmt;

use serde_json::Value;

use crate::Secret;

/// MSAL.NET's cache `client_id` for a system-assigned identity (msal-rs wrote it before it
/// wrote MSAL Python's empty one; tokens cached under it are still read).
pub const SYSTEM_ASSIGNED_CACHE_ID: &str = "SYSTEM_ASSIGNED_MANAGED_IDENTITY";

/// The `realm` of managed identity tokens in MSAL's unified cache.
pub const CACHE_REALM: &str = "managed_identity";

/// The `environment` of managed identity tokens in MSAL's unified cache (MSAL Python's value).
pub const CACHE_ENVIRONMENT: &str = "localhost";

/// Which managed identity to ask a token for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ManagedIdentityId {
    /// The identity of the Azure resource the code runs on.
    SystemAssigned,
    /// A user-assigned identity, by its client (application) id.
    UserAssignedClientId(String),
    /// A user-assigned identity, by its ARM resource id
    /// (`/subscriptions/.../providers/Microsoft.ManagedIdentity/userAssignedIdentities/...`).
    UserAssignedResourceId(String),
    /// A user-assigned identity, by its object (principal) id.
    UserAssignedObjectId(String),
}

impl ManagedIdentityId {
    /// Whether this is a user-assigned identity.
    pub fn is_user_assigned(&self) -> bool {
        !matches!(self, ManagedIdentityId::SystemAssigned)
    }

    /// The user-assigned id, whichever kind it is.
    pub fn user_assigned_id(&self) -> Option<&str> {
        match self {
            ManagedIdentityId::SystemAssigned => None,
            ManagedIdentityId::UserAssignedClientId(id)
            | ManagedIdentityId::UserAssignedResourceId(id)
            | ManagedIdentityId::UserAssignedObjectId(id) => Some(id),
        }
    }

    /// The `client_id` its tokens are cached under: the user-assigned id as given, or for a
    /// system-assigned identity the empty string, which the cache writes as `null`: what MSAL
    /// Python 1.39 writes (its `ManagedIdentityClient` caches under the identity's `Id`, which
    /// is `None` for `SystemAssignedManagedIdentity`), so that each reads the other's tokens.
    pub fn cache_client_id(&self) -> &str {
        self.user_assigned_id().unwrap_or("")
    }
}

/// The resource a request names: `resource` as given, or for a scope `<resource>/.default`
/// the scheme and host of the resource (as MSAL Python sends it). `None` when empty.
pub fn resource_from_scope(scope: &str) -> Option<String> {
    let scope = scope.trim();
    let resource = match scope.strip_suffix("/.default") {
        Some(rest) => match url::Url::parse(rest) {
            Ok(url) if url.has_host() => {
                let host = url.host_str().unwrap_or_default();
                match url.port() {
                    Some(port) => format!("{}://{host}:{port}", url.scheme()),
                    None => format!("{}://{host}", url.scheme()),
                }
            }
            _ => rest.to_owned(),
        },
        None => scope.to_owned(),
    };
    (!resource.is_empty()).then_some(resource)
}

/// A token a source returned, normalised. `Debug` redacts the token (it is a [`Secret`]).
#[derive(Clone, Debug)]
pub struct ManagedIdentityToken {
    /// The access token.
    pub access_token: Secret,
    /// `Bearer` unless the source said otherwise.
    pub token_type: String,
    /// When it expires (Unix seconds).
    pub expires_on: u64,
    /// When to refresh it proactively (Unix seconds): the source's `refresh_in`, or half the
    /// lifetime when that is 2 hours or more (as MSAL does for managed identity).
    pub refresh_on: Option<u64>,
}

/// Why a 2xx answer is not a usable token. The message never holds a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadAnswer(pub String);

impl fmt::Display for BadAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Tokens claiming to live longer than this are refused (MSAL.NET treats them as corrupt).
const MAX_LIFETIME: u64 = 10 * 365 * 24 * 3600;

/// Read a successful (2xx) answer of any source, at `now` (Unix seconds).
///
/// `access_token` must be a non-empty string; the lifetime comes from `expires_in` (IMDS, Arc,
/// Cloud Shell) or `expires_on` (App Service, Service Fabric, Machine Learning), each a number
/// or a string of digits, and must be in the future. An `error` field makes it an error even
/// with a 2xx status.
pub fn parse_success(body: &[u8], now: u64) -> Result<ManagedIdentityToken, BadAnswer> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| BadAnswer(crate::token_response::describe_unparsable(body)))?;
    let Value::Object(map) = value else {
        return Err(BadAnswer("the body is JSON but not an object".into()));
    };
    if let Some(error) = map.get("error") {
        return Err(BadAnswer(format!(
            "the answer is an error: {}",
            error_text(error, map.get("error_description"))
        )));
    }
    let access_token = match map.get("access_token") {
        Some(Value::String(t)) if !t.trim().is_empty() => Secret::new(t.as_str()),
        Some(_) => return Err(BadAnswer("access_token is not a non-empty string".into())),
        None => return Err(BadAnswer("the body has no access_token".into())),
    };
    let expires_on = match (
        seconds(map.get("expires_in"), "expires_in")?,
        seconds(map.get("expires_on"), "expires_on")?,
    ) {
        (Some(expires_in), _) => now.saturating_add(expires_in),
        (None, Some(expires_on)) => expires_on,
        (None, None) => {
            return Err(BadAnswer(
                "the body has neither expires_in nor expires_on".into(),
            ))
        }
    };
    if expires_on <= now {
        return Err(BadAnswer(format!(
            "the token expired already (expires_on {expires_on}, now {now})"
        )));
    }
    let lifetime = expires_on - now;
    if lifetime > MAX_LIFETIME {
        return Err(BadAnswer(format!(
            "the token claims to live {lifetime} s, more than 10 years"
        )));
    }
    let refresh_on = match seconds(map.get("refresh_in"), "refresh_in")? {
        Some(refresh_in) => Some(now.saturating_add(refresh_in)),
        None if lifetime >= 7200 => Some(now + lifetime / 2),
        None => None,
    };
    let token_type = match map.get("token_type") {
        Some(Value::String(t)) if !t.trim().is_empty() => t.clone(),
        _ => "Bearer".to_owned(),
    };
    Ok(ManagedIdentityToken {
        access_token,
        token_type,
        expires_on,
        refresh_on,
    })
}

/// A number of seconds sent as a JSON number or a string of digits.
fn seconds(value: Option<&Value>, name: &str) -> Result<Option<u64>, BadAnswer> {
    let bad = || BadAnswer(format!("{name} is not a number of seconds"));
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or_else(bad),
        Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// What an error answer says, in any source's shape: OAuth (`error`, `error_description`:
/// IMDS, Arc, Cloud Shell), Service Fabric's (`error: {code, message}`) or App Service's
/// (`statusCode`, `message`). A body that is not JSON is described without quoting anything
/// token-like.
pub fn describe_error(body: &[u8]) -> String {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return crate::token_response::describe_unparsable(body);
    };
    if let Some(error) = map.get("error") {
        return error_text(error, map.get("error_description"));
    }
    match (
        map.get("statusCode"),
        map.get("message").and_then(Value::as_str),
    ) {
        (_, Some(message)) => clip(message),
        (Some(code), None) => format!("status code {code}"),
        (None, None) => "the error body names no error".into(),
    }
}

fn error_text(error: &Value, description: Option<&Value>) -> String {
    let (code, message) = match error {
        Value::String(code) => (
            code.clone(),
            description.and_then(Value::as_str).map(str::to_owned),
        ),
        // Service Fabric: {"error": {"code": "...", "message": "..."}}
        Value::Object(inner) => (
            inner
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_owned(),
            inner
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned),
        ),
        _ => ("unknown".to_owned(), None),
    };
    match message {
        Some(m) => format!("{}: {}", clip_code(&code), clip(&m)),
        None => clip_code(&code),
    }
}

/// An error code: an identifier, kept as is (bounded, printable ASCII only).
fn clip_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(80)
        .collect()
}

/// A server-written string, bounded and with token-like runs redacted.
fn clip(text: &str) -> String {
    crate::token_response::redacted_prefix(text, 300)
}

/// The key file path of an Azure Arc challenge: `Basic realm=<path>` (case-insensitive
/// scheme and parameter name, optional quotes). `None` for anything else.
pub fn arc_challenge_path(www_authenticate: &str) -> Option<&str> {
    let (scheme, rest) = www_authenticate.trim().split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let (name, value) = rest.trim().split_once('=')?;
    if !name.trim().eq_ignore_ascii_case("realm") {
        return None;
    }
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    (!value.is_empty()).then_some(value)
}

/// Lowercase hex SHA-256 of a token (`token_sha256_to_refresh`).
pub fn token_sha256_hex(token: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write;
    Sha256::digest(token.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn scopes_become_resources() {
        let r = |s| resource_from_scope(s);
        assert_eq!(
            r("https://management.azure.com/.default").as_deref(),
            Some("https://management.azure.com")
        );
        assert_eq!(
            r("https://management.azure.com/").as_deref(),
            Some("https://management.azure.com/")
        );
        assert_eq!(
            r("https://vault.azure.net:8443/x/.default").as_deref(),
            Some("https://vault.azure.net:8443")
        );
        assert_eq!(r("api://abc/.default").as_deref(), Some("api://abc"));
        assert_eq!(
            r("00000002-0000/.default").as_deref(),
            Some("00000002-0000")
        );
        assert_eq!(r("  "), None);
        assert_eq!(r("/.default"), None);
    }

    #[test]
    fn numbers_as_strings_or_numbers() {
        let t = parse_success(br#"{"access_token":"a","expires_in":"3599"}"#, NOW).unwrap();
        assert_eq!(t.expires_on, NOW + 3599);
        assert_eq!(t.token_type, "Bearer");
        assert_eq!(t.refresh_on, None);
        let on = (NOW + 86_400).to_string();
        let body = format!(r#"{{"access_token":"a","expires_on":"{on}","token_type":"Bearer"}}"#);
        let t = parse_success(body.as_bytes(), NOW).unwrap();
        assert_eq!(t.expires_on, NOW + 86_400);
        assert_eq!(t.refresh_on, Some(NOW + 43_200));
        let body = format!(r#"{{"access_token":"a","expires_on":{on}}}"#);
        assert_eq!(
            parse_success(body.as_bytes(), NOW).unwrap().expires_on,
            NOW + 86_400
        );
        let t = parse_success(
            br#"{"access_token":"a","expires_in":7200,"refresh_in":600}"#,
            NOW,
        )
        .unwrap();
        assert_eq!(t.refresh_on, Some(NOW + 600));
    }

    #[test]
    fn bad_answers_are_errors_without_the_token() {
        let secret = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-part-of-the-token";
        let past = (NOW - 10).to_string();
        let cases: Vec<String> = vec![
            "<html><body>Login to the proxy</body></html>".into(),
            r#"{"token_type":"Bearer","expires_in":"3599"}"#.into(),
            format!(r#"{{"access_token":"{secret}"}}"#),
            format!(r#"{{"access_token":"{secret}","expires_on":"{past}"}}"#),
            format!(r#"{{"access_token":"{secret}","expires_on":"tomorrow"}}"#),
            format!(r#"{{"access_token":"{secret}","expires_in":-5}}"#),
            format!(r#"{{"access_token":"{secret}","expires_in":"999999999999"}}"#),
            format!(r#"{{"access_token":"{secret}","expires_in":[1]}}"#),
            r#"{"error":"invalid_request","error_description":"Identity not found"}"#.into(),
            format!(r#"{{"access_token":"{secret}","#),
            "[]".into(),
            String::new(),
        ];
        for body in cases {
            let e = parse_success(body.as_bytes(), NOW).unwrap_err();
            assert!(!e.0.contains("secret-part"), "{body}: {e}");
        }
    }

    #[test]
    fn error_shapes() {
        assert_eq!(
            describe_error(
                br#"{"error":"invalid_request","error_description":"Identity not found"}"#
            ),
            "invalid_request: Identity not found"
        );
        assert_eq!(
            describe_error(br#"{"error":{"code":"SecretHeaderNotFound","message":"no secret"}}"#),
            "SecretHeaderNotFound: no secret"
        );
        assert_eq!(
            describe_error(br#"{"statusCode":500,"message":"bad resource"}"#),
            "bad resource"
        );
        assert!(describe_error(b"<html>oops</html>").contains("not JSON"));
    }

    #[test]
    fn arc_challenges() {
        let p = arc_challenge_path;
        assert_eq!(
            p("Basic realm=/var/opt/azcmagent/tokens/a.key"),
            Some("/var/opt/azcmagent/tokens/a.key")
        );
        assert_eq!(p(r#"basic REALM="C:\x\a.key""#), Some(r"C:\x\a.key"));
        assert_eq!(p("Bearer realm=/x"), None);
        assert_eq!(p("Basic realm="), None);
        assert_eq!(p("Basic"), None);
        assert_eq!(p("Basic foo=/x"), None);
    }

    #[test]
    fn sha256_hex() {
        assert_eq!(
            token_sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn cache_ids() {
        assert_eq!(ManagedIdentityId::SystemAssigned.cache_client_id(), "");
        assert_eq!(
            ManagedIdentityId::UserAssignedObjectId("o".into()).cache_client_id(),
            "o"
        );
    }
}
