//! # msal-interactive
//!
//! Interactive sign-in for msal-rs: when the silent-first pipeline ends in "interaction
//! required", a [`WebUi`] shows the user the identity provider's sign-in page and brings back
//! the authorization response.
//!
//! This crate defines the seam: the [`WebUi`] trait that system-browser, embedded or test
//! implementations provide, and [`AuthorizationResponse`], which parses what comes back on the
//! redirect URI and checks `state` in constant time (RFC 6749 §10.12: a response whose `state`
//! does not match the request's is refused, since it may be a forged, cross-site redirect). The
//! system browser with a loopback listener and the device-code flow are built on it.
//!
//! `subtle` is a dependency for its constant-time comparison: comparing `state` with `==`
//! would let an attacker probe it byte by byte through response timing.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::collections::HashMap;

use subtle::ConstantTimeEq;
use url::Url;

/// What a [`WebUi`] is asked to do: show `authorize_url` and wait for the provider to redirect
/// to `redirect_uri`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthorizationRequest {
    /// The full authorization URL (with `client_id`, `state`, PKCE challenge, ...).
    pub authorize_url: Url,
    /// Where the provider sends the response.
    pub redirect_uri: Url,
    /// The `state` sent in the request; the response must carry the same value.
    pub state: String,
}

impl AuthorizationRequest {
    /// A request to show `authorize_url` and wait for a redirect to `redirect_uri`.
    pub fn new(authorize_url: Url, redirect_uri: Url, state: impl Into<String>) -> Self {
        AuthorizationRequest {
            authorize_url,
            redirect_uri,
            state: state.into(),
        }
    }
}

/// A successful authorization response: the code to redeem.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizationResponse {
    /// The authorization code.
    pub code: String,
    /// Entra's `client_info`, when sent with the response.
    pub client_info: Option<String>,
}

impl std::fmt::Debug for AuthorizationResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationResponse")
            .field("code", &"[redacted]")
            .field("client_info", &self.client_info.is_some())
            .finish()
    }
}

/// Why interactive sign-in did not produce a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebUiError {
    /// The provider redirected with an OAuth error (`access_denied` when the user declined).
    #[error("the identity provider returned {error}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Provider {
        /// `error`.
        error: String,
        /// `error_description`.
        description: Option<String>,
    },
    /// The response's `state` is missing or differs from the request's.
    #[error(
        "the authorization response's state does not match the request (possible forged redirect)"
    )]
    StateMismatch,
    /// The response has neither a code nor an error.
    #[error("the authorization response has neither a code nor an error")]
    MissingCode,
    /// The user cancelled, or the UI was closed.
    #[error("sign-in was cancelled")]
    Cancelled,
    /// Nothing came back in time.
    #[error("sign-in timed out")]
    TimedOut,
    /// The UI could not be shown (no browser, no display, ...).
    #[error("the sign-in UI could not be shown: {0}")]
    Unavailable(String),
}

impl AuthorizationResponse {
    /// Parse the query of a redirect (`code=...&state=...`, or `error=...`) and check its
    /// `state` against `expected_state` in constant time. The state is checked first: an error
    /// response with a wrong state is a forgery, not the provider's answer.
    pub fn from_redirect_query(query: &str, expected_state: &str) -> Result<Self, WebUiError> {
        let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let state = params.get("state").map(String::as_str).unwrap_or_default();
        let matches: bool = state.as_bytes().ct_eq(expected_state.as_bytes()).into();
        if !matches || expected_state.is_empty() {
            return Err(WebUiError::StateMismatch);
        }
        if let Some(error) = params.get("error") {
            return Err(WebUiError::Provider {
                error: error.clone(),
                description: params.get("error_description").cloned(),
            });
        }
        let code = params
            .get("code")
            .filter(|c| !c.is_empty())
            .ok_or(WebUiError::MissingCode)?;
        Ok(AuthorizationResponse {
            code: code.clone(),
            client_info: params.get("client_info").cloned(),
        })
    }
}

/// Shows the sign-in page and returns the authorization response.
///
/// Implementations must bind any local listener to loopback only, accept one response, check
/// `state` (use [`AuthorizationResponse::from_redirect_query`]), time out, and never log the
/// code.
#[async_trait::async_trait]
pub trait WebUi: Send + Sync {
    /// Show `request.authorize_url` and wait for the redirect to `request.redirect_uri`.
    async fn authorize(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<AuthorizationResponse, WebUiError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_with_matching_state() {
        let r =
            AuthorizationResponse::from_redirect_query("code=abc&state=s1&client_info=ci", "s1")
                .unwrap();
        assert_eq!(r.code, "abc");
        assert_eq!(r.client_info.as_deref(), Some("ci"));
        assert!(!format!("{r:?}").contains("abc"));
    }

    #[test]
    fn wrong_or_missing_state_is_refused_even_for_errors() {
        for q in [
            "code=abc&state=s2",
            "code=abc",
            "error=access_denied&state=x",
            "code=abc&state=s",
        ] {
            assert_eq!(
                AuthorizationResponse::from_redirect_query(q, "s1"),
                Err(WebUiError::StateMismatch),
                "{q}"
            );
        }
        assert_eq!(
            AuthorizationResponse::from_redirect_query("code=abc&state=", ""),
            Err(WebUiError::StateMismatch)
        );
    }

    #[test]
    fn provider_errors_and_missing_code() {
        let e = AuthorizationResponse::from_redirect_query(
            "error=access_denied&error_description=The+user+declined&state=s1",
            "s1",
        )
        .unwrap_err();
        assert_eq!(
            e,
            WebUiError::Provider {
                error: "access_denied".into(),
                description: Some("The user declined".into())
            }
        );
        assert_eq!(
            AuthorizationResponse::from_redirect_query("state=s1", "s1"),
            Err(WebUiError::MissingCode)
        );
    }

    struct Canned(Result<AuthorizationResponse, WebUiError>);

    #[async_trait::async_trait]
    impl WebUi for Canned {
        async fn authorize(
            &self,
            _: &AuthorizationRequest,
        ) -> Result<AuthorizationResponse, WebUiError> {
            self.0.clone()
        }
    }

    #[tokio::test]
    async fn the_trait_is_object_safe() {
        let ui: Box<dyn WebUi> = Box::new(Canned(Err(WebUiError::Cancelled)));
        let req = AuthorizationRequest::new(
            Url::parse("https://login.microsoftonline.com/common/oauth2/v2.0/authorize").unwrap(),
            Url::parse("http://localhost:8400").unwrap(),
            "s",
        );
        assert_eq!(ui.authorize(&req).await, Err(WebUiError::Cancelled));
    }
}
