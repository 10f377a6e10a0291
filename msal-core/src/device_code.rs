//! The device code flow's user-facing part (RFC 8628): what to show the user
//! ([`DeviceCodeInfo`]) and the parser of the device authorization response
//! ([`DeviceAuthorizationResponse`]). No HTTP here: the facade sends the request and polls.

use std::time::Duration;

use crate::token_response::{describe_unparsable, parse_token_response, TokenResponseError};
use crate::{OAuthError, Secret};
use serde_json::{Map, Value};
use url::Url;

/// The polling interval when the response does not give one (RFC 8628 §3.2).
pub const DEFAULT_POLLING_INTERVAL: Duration = Duration::from_secs(5);

/// What the user must be told: where to go and which code to enter. Holds no secret (the
/// `device_code` used for polling is not in it), so it can be logged and shown.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceCodeInfo {
    /// The code the user enters.
    pub user_code: String,
    /// Where the user enters it.
    pub verification_uri: Url,
    /// A URI that already carries the user code (for a QR code), when the server sends one.
    pub verification_uri_complete: Option<Url>,
    /// How long the codes are valid, from the response.
    pub expires_in: Duration,
    /// How long to wait between two polls.
    pub interval: Duration,
    /// A message for the user written by the server (Entra sends a localized one).
    pub message: Option<String>,
}

impl DeviceCodeInfo {
    /// Information with the default polling interval and no message or complete URI.
    pub fn new(user_code: impl Into<String>, verification_uri: Url, expires_in: Duration) -> Self {
        DeviceCodeInfo {
            user_code: user_code.into(),
            verification_uri,
            verification_uri_complete: None,
            expires_in,
            interval: DEFAULT_POLLING_INTERVAL,
            message: None,
        }
    }

    /// The server's message, or one built from the URI and the code.
    pub fn display_message(&self) -> String {
        match &self.message {
            Some(m) => m.clone(),
            None => format!(
                "To sign in, use a web browser to open the page {} and enter the code {} to authenticate.",
                self.verification_uri, self.user_code
            ),
        }
    }
}

/// A device authorization response (RFC 8628 §3.2): the secret `device_code` to poll with, and
/// the [`DeviceCodeInfo`] to show. `Debug` never shows the device code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceAuthorizationResponse {
    device_code: Secret,
    info: DeviceCodeInfo,
}

/// Why a device authorization response could not be used. Never quotes the device code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceCodeError {
    /// The server answered with an OAuth error body (e.g. `invalid_client`,
    /// `unauthorized_client` when public client flows are not enabled).
    #[error("the identity provider returned an error: {0}")]
    OAuth(Box<OAuthError>),
    /// The body is not a JSON object.
    #[error("malformed device authorization response: {0}")]
    Malformed(String),
    /// A required field is missing (or empty).
    #[error("the device authorization response has no `{0}`")]
    MissingField(&'static str),
    /// A field has the wrong type or value.
    #[error("the device authorization response's `{field}` is invalid: {reason}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl DeviceAuthorizationResponse {
    /// Parse the body of a device authorization response: `device_code`, `user_code`,
    /// `verification_uri` (or Entra's v1 / ADFS `verification_url`) and `expires_in` are
    /// required; `verification_uri_complete`, `interval` (default 5 s; 0 is taken as absent)
    /// and `message` are optional. Numbers may be JSON numbers or numeric strings. An OAuth
    /// error body gives [`DeviceCodeError::OAuth`]. Never panics.
    pub fn parse(body: &[u8]) -> Result<Self, DeviceCodeError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| DeviceCodeError::Malformed(describe_unparsable(body)))?;
        let Value::Object(map) = value else {
            return Err(DeviceCodeError::Malformed(
                "the body is JSON but not an object".into(),
            ));
        };
        if map.get("error").is_some_and(Value::is_string) {
            // Same shape as a token endpoint error: reuse msal-core's reading of it.
            if let Err(TokenResponseError::OAuth { error, .. }) = parse_token_response(400, body) {
                return Err(DeviceCodeError::OAuth(error));
            }
        }
        let device_code = required_string(&map, "device_code")?;
        let user_code = required_string(&map, "user_code")?;
        let verification_uri = match optional_string(&map, "verification_uri")? {
            Some(uri) => url_field("verification_uri", &uri)?,
            None => match optional_string(&map, "verification_url")? {
                Some(uri) => url_field("verification_url", &uri)?,
                None => return Err(DeviceCodeError::MissingField("verification_uri")),
            },
        };
        let verification_uri_complete = optional_string(&map, "verification_uri_complete")?
            .map(|uri| url_field("verification_uri_complete", &uri))
            .transpose()?;
        let expires_in =
            seconds(&map, "expires_in")?.ok_or(DeviceCodeError::MissingField("expires_in"))?;
        let interval = seconds(&map, "interval")?
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_POLLING_INTERVAL);
        let message = optional_string(&map, "message")?;
        Ok(DeviceAuthorizationResponse {
            device_code: Secret::new(device_code),
            info: DeviceCodeInfo {
                user_code,
                verification_uri,
                verification_uri_complete,
                expires_in,
                interval,
                message,
            },
        })
    }

    /// The device code to poll the token endpoint with. A secret: do not log it.
    pub fn device_code(&self) -> &str {
        self.device_code.expose_secret()
    }

    /// What to show the user.
    pub fn info(&self) -> &DeviceCodeInfo {
        &self.info
    }

    /// The device code and the information to show, separately. The code is copied into a
    /// plain `String`: prefer [`into_secret_parts`](Self::into_secret_parts).
    pub fn into_parts(self) -> (String, DeviceCodeInfo) {
        (self.device_code.expose_secret().to_owned(), self.info)
    }

    /// The device code (as a [`Secret`]) and the information to show, separately.
    pub fn into_secret_parts(self) -> (Secret, DeviceCodeInfo) {
        (self.device_code, self.info)
    }
}

fn optional_string(
    map: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, DeviceCodeError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(DeviceCodeError::InvalidField {
            field,
            reason: "not a string".into(),
        }),
    }
}

fn required_string(
    map: &Map<String, Value>,
    field: &'static str,
) -> Result<String, DeviceCodeError> {
    optional_string(map, field)?.ok_or(DeviceCodeError::MissingField(field))
}

fn url_field(field: &'static str, text: &str) -> Result<Url, DeviceCodeError> {
    let url = Url::parse(text).map_err(|e| DeviceCodeError::InvalidField {
        field,
        reason: format!("not an absolute URL ({e})"),
    })?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(DeviceCodeError::InvalidField {
            field,
            reason: "not an http(s) URL".into(),
        });
    }
    Ok(url)
}

/// Whole seconds given as a JSON number or a numeric string.
fn seconds(
    map: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<Duration>, DeviceCodeError> {
    let bad = || DeviceCodeError::InvalidField {
        field,
        reason: "not a non-negative number of seconds".into(),
    };
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1e15)
                    .map(|f| f as u64)
            })
            .map(|s| Some(Duration::from_secs(s)))
            .ok_or_else(bad),
        Some(Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map(|s| Some(Duration::from_secs(s)))
            .map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}
