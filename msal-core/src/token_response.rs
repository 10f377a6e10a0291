//! Token endpoint answers: the success body, the OAuth error body, and how to tell them apart.
//!
//! [`parse_token_response`] is the single entry point: it takes the HTTP status and the body and
//! returns a [`TokenResponse`] or a [`TokenResponseError`]. It never panics and never copies a
//! token into an error: a body that parses as JSON is never quoted, and a body that does not is
//! quoted only as a short prefix with anything token-like redacted.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use crate::Secret;

/// A successful token response (RFC 6749 §5.1 plus Entra's extensions).
///
/// The three tokens are [`Secret`]s: `Debug` shows `Secret([redacted])` for them, and they are
/// wiped when the response is dropped (the cache keeps its own shared copy).
#[derive(Clone, Debug)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: Secret,
    /// `Bearer` unless the server said otherwise.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Extended lifetime in seconds (Entra), defaults to `expires_in`.
    pub ext_expires_in: u64,
    /// When to refresh proactively, in seconds from now (Entra).
    pub refresh_in: Option<u64>,
    /// A new refresh token.
    pub refresh_token: Option<Secret>,
    /// An ID token.
    pub id_token: Option<Secret>,
    /// Entra's `client_info` (base64url).
    pub client_info: Option<String>,
    /// The granted scopes, space-separated.
    pub scope: Option<String>,
    /// The family (FOCI) id, `"1"` today.
    pub foci: Option<String>,
}

/// An OAuth 2.0 error body (RFC 6749 §5.2 plus Entra's extensions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthError {
    /// `error`, e.g. `invalid_grant`.
    pub error: String,
    /// `error_description`.
    pub error_description: Option<String>,
    /// Entra's `suberror`, e.g. `basic_action`.
    pub suberror: Option<String>,
    /// Entra's numeric `error_codes` (AADSTS numbers).
    pub error_codes: Vec<i64>,
    /// A claims challenge to send back on the next request.
    pub claims: Option<String>,
    /// The server's correlation id.
    pub correlation_id: Option<String>,
    /// The server's trace id.
    pub trace_id: Option<String>,
}

/// Why the user must sign in interactively, from Entra's `suberror`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UiRequiredClassification {
    /// The user can resolve it with a simple interaction (e.g. MFA).
    BasicAction,
    /// An interaction beyond a simple one is needed (e.g. register a device).
    AdditionalAction,
    /// Only a message can be shown; the user cannot fix it.
    MessageOnly,
    /// The user must consent.
    ConsentRequired,
    /// The user's password expired.
    UserPasswordExpired,
    /// No account, no token or no refresh token in the cache: silent acquisition could not start.
    AcquireTokenSilentFailed,
}

impl UiRequiredClassification {
    /// Map a `suberror` (case-insensitive) to a classification, as MSAL.NET and Python do.
    pub fn from_suberror(suberror: &str) -> Option<Self> {
        let s = suberror.to_ascii_lowercase();
        Some(match s.as_str() {
            "basic_action" => Self::BasicAction,
            "additional_action" => Self::AdditionalAction,
            "message_only" => Self::MessageOnly,
            "consent_required" => Self::ConsentRequired,
            "user_password_expired" => Self::UserPasswordExpired,
            _ => return None,
        })
    }

    /// The wire name (`basic_action`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::BasicAction => "basic_action",
            Self::AdditionalAction => "additional_action",
            Self::MessageOnly => "message_only",
            Self::ConsentRequired => "consent_required",
            Self::UserPasswordExpired => "user_password_expired",
            Self::AcquireTokenSilentFailed => "acquire_token_silent_failed",
        }
    }
}

impl OAuthError {
    /// Whether this error means "the user must interact": `invalid_grant` (unless the suberror
    /// is `client_mismatch` or `protection_policy_required`), `interaction_required`,
    /// `consent_required` and `login_required`. `invalid_client` never is.
    pub fn is_interaction_required(&self) -> bool {
        let suberror = self.suberror.as_deref().unwrap_or("").to_ascii_lowercase();
        match self.error.as_str() {
            "invalid_grant" => !matches!(
                suberror.as_str(),
                "client_mismatch" | "protection_policy_required"
            ),
            "interaction_required" | "consent_required" | "login_required" => true,
            _ => false,
        }
    }

    /// The UI-required classification derived from `suberror`.
    pub fn classification(&self) -> Option<UiRequiredClassification> {
        self.suberror
            .as_deref()
            .and_then(UiRequiredClassification::from_suberror)
    }

    /// Whether the server said the failure is temporary (`temporarily_unavailable`,
    /// `request_timeout`).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.error.as_str(),
            "temporarily_unavailable" | "request_timeout"
        )
    }

    /// Whether this is the `client_mismatch` answer to a family refresh token that this
    /// client may not use.
    pub fn is_client_mismatch(&self) -> bool {
        self.suberror
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("client_mismatch"))
    }

    fn from_value(v: &serde_json::Map<String, Value>) -> Option<Self> {
        let error = v.get("error")?.as_str()?.to_owned();
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let claims = match v.get("claims") {
            Some(Value::String(c)) if !c.is_empty() => Some(c.clone()),
            Some(obj @ Value::Object(_)) => Some(obj.to_string()),
            _ => None,
        };
        Some(OAuthError {
            error,
            error_description: s("error_description"),
            suberror: s("suberror").filter(|s| !s.is_empty()),
            error_codes: v
                .get("error_codes")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default(),
            claims,
            correlation_id: s("correlation_id"),
            trace_id: s("trace_id"),
        })
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error)?;
        if let Some(sub) = &self.suberror {
            write!(f, " ({sub})")?;
        }
        if let Some(d) = &self.error_description {
            write!(f, ": {}", d.lines().next().unwrap_or_default())?;
        }
        Ok(())
    }
}

/// A token endpoint answer that is not a usable token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenResponseError {
    /// The server answered with an OAuth error body (whatever the HTTP status, 200 included).
    #[error("the identity provider returned an error (HTTP {status}): {error}")]
    OAuth {
        /// HTTP status.
        status: u16,
        /// The parsed error body.
        error: Box<OAuthError>,
    },
    /// The answer is not a well-formed token response.
    #[error("malformed token response (HTTP {status}): {message}")]
    Protocol {
        /// HTTP status.
        status: u16,
        /// What is wrong, with a redacted prefix of the body when it is not JSON.
        message: String,
    },
}

#[derive(Deserialize)]
struct RawSuccess {
    access_token: Option<Value>,
    token_type: Option<Value>,
    expires_in: Option<Value>,
    ext_expires_in: Option<Value>,
    refresh_in: Option<Value>,
    refresh_token: Option<Value>,
    id_token: Option<Value>,
    client_info: Option<Value>,
    scope: Option<Value>,
    foci: Option<Value>,
}

/// Lifetime assumed when a success response omits `expires_in` (MSAL Python's default).
pub const DEFAULT_EXPIRES_IN: u64 = 600;

/// Parse a token endpoint answer.
pub fn parse_token_response(status: u16, body: &[u8]) -> Result<TokenResponse, TokenResponseError> {
    let protocol = |message: String| TokenResponseError::Protocol { status, message };
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return Err(protocol(describe_unparsable(body))),
    };
    let Value::Object(map) = value else {
        return Err(protocol("the body is JSON but not an object".into()));
    };
    if let Some(error) = OAuthError::from_value(&map) {
        return Err(TokenResponseError::OAuth {
            status,
            error: Box::new(error),
        });
    }
    if !(200..300).contains(&status) {
        return Err(protocol(
            "an error status without an OAuth error body".into(),
        ));
    }
    let raw: RawSuccess = serde_json::from_value(Value::Object(map))
        .map_err(|_| protocol("the body does not have the shape of a token response".into()))?;

    let string = |name: &str, v: Option<Value>| -> Result<Option<String>, TokenResponseError> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(protocol(format!("`{name}` is not a string"))),
        }
    };
    let access_token = string("access_token", raw.access_token)?
        .ok_or_else(|| protocol("`access_token` is missing".into()))?;
    let token_type = string("token_type", raw.token_type)?.unwrap_or_else(|| "Bearer".into());
    let expires_in = seconds("expires_in", raw.expires_in).map_err(protocol)?;
    let ext_expires_in = seconds("ext_expires_in", raw.ext_expires_in).map_err(protocol)?;
    let refresh_in = seconds("refresh_in", raw.refresh_in).map_err(protocol)?;
    let foci = match raw.foci {
        Some(Value::Number(n)) => Some(n.to_string()),
        other => string("foci", other)?,
    };
    let expires_in = expires_in.unwrap_or(DEFAULT_EXPIRES_IN);
    Ok(TokenResponse {
        access_token: Secret::new(access_token),
        token_type,
        expires_in,
        ext_expires_in: ext_expires_in.unwrap_or(expires_in),
        refresh_in,
        refresh_token: string("refresh_token", raw.refresh_token)?.map(Secret::new),
        id_token: string("id_token", raw.id_token)?.map(Secret::new),
        client_info: string("client_info", raw.client_info)?,
        scope: string("scope", raw.scope)?,
        foci,
    })
}

/// Seconds given as a JSON number or a numeric string (Entra has sent both).
fn seconds(name: &str, v: Option<Value>) -> Result<Option<u64>, String> {
    let bad = || format!("`{name}` is not a non-negative number of seconds");
    match v {
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

/// How much of a body [`describe_unparsable`] looks at.
const EXCERPT_SOURCE_BYTES: usize = 512;
/// How many characters of a body [`describe_unparsable`] quotes, at most.
const EXCERPT_CHARS: usize = 80;
/// Runs of token-like characters at least this long are redacted.
const TOKEN_RUN: usize = 20;
/// What a redacted run is replaced with.
const REDACTED: &str = "[redacted]";

/// Describe a body that is not JSON without leaking anything that might be a token.
pub fn describe_unparsable(body: &[u8]) -> String {
    let source = &body[..body.len().min(EXCERPT_SOURCE_BYTES)];
    let text = String::from_utf8_lossy(source);
    let trimmed = text.trim_start();
    if body.is_empty() {
        return "the body is empty".into();
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // Truncated or broken JSON may well hold a token: never quote it.
        return format!(
            "the body is malformed or truncated JSON ({} bytes)",
            body.len()
        );
    }
    format!(
        "the body is not JSON ({} bytes), it starts with {:?}",
        body.len(),
        redact_then_clip(trimmed, EXCERPT_CHARS, source.len() < body.len())
    )
}

/// At most the first `max` characters of `text`, with control characters dropped and every run
/// of 20 or more token-like characters (base64url, dots) replaced by `[redacted]`.
///
/// Redaction comes first and clipping second, and a `[redacted]` marker is either shown whole or
/// not at all: clipping first would cut a token at the boundary into a run too short to look
/// like one and print it in clear.
pub fn redacted_prefix(text: &str, max: usize) -> String {
    redact_then_clip(text, max, false)
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=')
}

/// [`redacted_prefix`]; with `cut`, `text` is the start of a longer text, so its last run may be
/// the beginning of a token and is redacted whatever its length.
fn redact_then_clip(text: &str, max: usize, cut: bool) -> String {
    let mut out = Clipped {
        text: String::with_capacity(max.min(text.len()) + REDACTED.len()),
        chars: 0,
        max,
    };
    let mut run = String::new();
    for c in text.chars().filter(|c| !c.is_control()) {
        if is_token_char(c) {
            run.push(c);
            continue;
        }
        if !out.run(&mut run, false) || !out.push(c) {
            return out.text;
        }
    }
    out.run(&mut run, cut);
    out.text
}

/// An output that stops growing at `max` characters.
struct Clipped {
    text: String,
    chars: usize,
    max: usize,
}

impl Clipped {
    /// Add `c`; `false` once the output is full.
    fn push(&mut self, c: char) -> bool {
        if self.chars >= self.max {
            return false;
        }
        self.text.push(c);
        self.chars += 1;
        true
    }

    /// Add a run of token-like characters (ASCII, so bytes are characters), redacted when it is
    /// long enough to be a token or `partial`; the marker is added whole or not at all. Empties
    /// `run`; `false` once the output is full.
    fn run(&mut self, run: &mut String, partial: bool) -> bool {
        if run.is_empty() {
            return self.chars < self.max;
        }
        let redact = partial || run.len() >= TOKEN_RUN;
        let fits = if redact {
            let fits = self.chars + REDACTED.len() <= self.max;
            if fits {
                self.text.push_str(REDACTED);
                self.chars += REDACTED.len();
            }
            fits
        } else {
            // A short run is not a token: clipping it is harmless.
            run.chars().all(|c| self.push(c))
        };
        run.clear();
        fits && self.chars < self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_with_string_numbers() {
        let r = parse_token_response(
            200,
            br#"{"access_token":"at","token_type":"Bearer","expires_in":"3599","ext_expires_in":3599,"refresh_token":"rt","scope":"a b","foci":"1","refresh_in":1800}"#,
        )
        .unwrap();
        assert_eq!(r.expires_in, 3599);
        assert_eq!(r.refresh_in, Some(1800));
        assert_eq!(r.foci.as_deref(), Some("1"));
        assert!(!format!("{r:?}").contains("\"at\""));
        assert!(!format!("{r:?}").contains("rt\""));
    }

    #[test]
    fn debug_shows_no_token_because_the_tokens_are_secrets() {
        let r = parse_token_response(
            200,
            br#"{"access_token":"AT-7f3a9c","refresh_token":"RT-51be0d","id_token":"IDT-c2e8a1","client_info":"ci","expires_in":60}"#,
        )
        .unwrap();
        let shown = format!("{r:#?}");
        for token in ["AT-7f3a9c", "RT-51be0d", "IDT-c2e8a1"] {
            assert!(!shown.contains(token), "{shown}");
        }
        assert_eq!(shown.matches("Secret([redacted])").count(), 3, "{shown}");
        assert!(
            shown.contains("\"ci\""),
            "non-secret fields stay visible: {shown}"
        );
        assert_eq!(r.access_token.expose_secret(), "AT-7f3a9c");
    }

    #[test]
    fn error_body_with_http_200_is_an_error() {
        let e = parse_token_response(
            200,
            br#"{"error":"invalid_grant","suberror":"basic_action","claims":{"access_token":{}}}"#,
        )
        .unwrap_err();
        let TokenResponseError::OAuth { status, error } = e else {
            panic!()
        };
        assert_eq!(status, 200);
        assert!(error.is_interaction_required());
        assert_eq!(
            error.classification(),
            Some(UiRequiredClassification::BasicAction)
        );
        assert_eq!(error.claims.as_deref(), Some(r#"{"access_token":{}}"#));
    }

    #[test]
    fn classification_rules() {
        let e = |error: &str, sub: Option<&str>| OAuthError {
            error: error.into(),
            suberror: sub.map(Into::into),
            ..Default::default()
        };
        assert!(e("invalid_grant", None).is_interaction_required());
        assert!(!e("invalid_grant", Some("client_mismatch")).is_interaction_required());
        assert!(!e("invalid_grant", Some("protection_policy_required")).is_interaction_required());
        assert!(e("interaction_required", None).is_interaction_required());
        assert!(e("consent_required", None).is_interaction_required());
        assert!(e("login_required", None).is_interaction_required());
        assert!(!e("invalid_client", None).is_interaction_required());
        assert_eq!(
            e("invalid_grant", Some("client_mismatch")).classification(),
            None
        );
        assert!(e("temporarily_unavailable", None).is_transient());
    }

    #[test]
    fn malformed_bodies_are_typed_and_never_quote_tokens() {
        for (status, body) in [
            (200, &b""[..]),
            (200, b"<html><body>Service Unavailable</body></html>"),
            (
                200,
                br#"{"access_token":"eyJhbGciOiJSUzI1NiJ9.secretsecretsecret"#,
            ),
            (200, b"[1,2]"),
            (200, br#"{"token_type":"Bearer"}"#),
            (200, br#"{"access_token":5}"#),
            (200, br#"{"access_token":"x","expires_in":"soon"}"#),
            (200, br#"{"access_token":"x","expires_in":-5}"#),
            (500, br#"{"message":"boom"}"#),
            (
                502,
                b"Bad gateway eyJhbGciOiJSUzI1NiJ9eyJzdWIiOiIxMjM0NTY3ODkwIn0",
            ),
        ] {
            let e = parse_token_response(status, body).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, TokenResponseError::Protocol { .. }), "{text}");
            assert!(!text.contains("secret"), "{text}");
            assert!(!text.contains("eyJ"), "{text}");
            assert!(text.contains(&status.to_string()));
        }
    }

    #[test]
    fn a_token_at_the_clipping_boundary_is_redacted_whole() {
        // 64 characters of text, then a 40-character token: clipping at 80 characters before
        // redacting left its first 16 characters in clear.
        let token = "rt0123456789abcdefghijklmnopqrstuvwxyzAB";
        let text = format!("{} {token} tail", "word ".repeat(13).trim_end());
        let shown = redacted_prefix(&text, 80);
        assert!(!shown.contains("rt0123"), "{shown}");
        assert!(shown.chars().count() <= 80, "{shown}");
        // The marker is shown whole or not at all.
        for max in 0..text.len() + 20 {
            let shown = redacted_prefix(&text, max);
            assert!(!shown.contains("rt01"), "{max}: {shown}");
            assert!(shown.chars().count() <= max, "{max}: {shown}");
            assert!(
                !shown.contains("[red") || shown.contains("[redacted]"),
                "{max}: {shown}"
            );
        }
        assert!(redacted_prefix(&text, 200).ends_with("[redacted] tail"));
    }

    #[test]
    fn a_body_cut_at_the_excerpt_limit_never_ends_in_part_of_a_token() {
        // The excerpt source is cut inside a token whose visible part is short.
        let token = "A".repeat(400);
        let mut body = format!("<p>{} {}", "x".repeat(100), "B".repeat(400));
        body.truncate(EXCERPT_SOURCE_BYTES - 10);
        body.push(' ');
        body.push_str(&token);
        let shown = describe_unparsable(body.as_bytes());
        assert!(!shown.contains("AAA"), "{shown}");
        assert!(shown.ends_with("[redacted]\""), "{shown}");
    }

    #[test]
    fn html_prefix_is_quoted() {
        let e = parse_token_response(503, b"<html><title>Down</title>").unwrap_err();
        assert!(e.to_string().contains("<html><title>Down"), "{e}");
    }

    #[test]
    fn missing_expires_in_uses_default_and_type_defaults_to_bearer() {
        let r = parse_token_response(200, br#"{"access_token":"x"}"#).unwrap();
        assert_eq!(r.expires_in, DEFAULT_EXPIRES_IN);
        assert_eq!(r.ext_expires_in, DEFAULT_EXPIRES_IN);
        assert_eq!(r.token_type, "Bearer");
    }
}
