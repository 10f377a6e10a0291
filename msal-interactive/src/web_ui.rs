//! The seam between the token pipeline and whatever shows the sign-in page: the [`WebUi`] and
//! [`AuthorizationSession`] traits, what comes back ([`AuthorizationResponse`]) and why it may
//! not ([`WebUiError`]).

use std::collections::HashMap;
use std::fmt;

use msal_core::Secret;
use subtle::ConstantTimeEq;
use url::Url;

/// What a [`WebUi`] is asked to do in one step by [`WebUi::authorize`]: show `authorize_url`
/// and wait for the provider to redirect to `redirect_uri`.
#[derive(Clone)]
#[non_exhaustive]
pub struct AuthorizationRequest {
    /// The full authorization URL (with `client_id`, `state`, PKCE challenge, ...).
    pub authorize_url: Url,
    /// Where the provider sends the response.
    pub redirect_uri: Url,
    /// The `state` sent in the request; the response must carry the same value.
    pub state: String,
}

impl fmt::Debug for AuthorizationRequest {
    /// The authorize URL without its query (which carries `state` and `nonce`), and no `state`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut url = self.authorize_url.clone();
        url.set_query(None);
        f.debug_struct("AuthorizationRequest")
            .field("authorize_url", &url.as_str())
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("state", &"[redacted]")
            .finish()
    }
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

/// A successful authorization response: the code to redeem. `Debug` shows `client_info`
/// (the account's ids, as [`Account`](msal_core::Account)'s `Debug` does) but not the code.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizationResponse {
    /// The authorization code (compare it with `==` against a `&str`, read it with
    /// [`Secret::expose_secret`]).
    pub code: Secret,
    /// Entra's `client_info`, when sent with the response.
    pub client_info: Option<String>,
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
    /// The UI could not be shown (no browser, no display, the browser command failed, ...).
    /// Callers may fall back to the device code flow.
    #[error("the sign-in UI could not be shown: {0}")]
    Unavailable(String),
    /// A loopback listener was asked to listen on an address that is not a loopback address
    /// (`0.0.0.0`, a LAN address, a host name other than `localhost`, ...). It never does.
    #[error("refusing to listen on {0}: the redirect listener only binds loopback addresses")]
    NotLoopback(String),
    /// A redirect URI the listener cannot serve (not `http`, a query or fragment, a relative
    /// path, ...).
    #[error("invalid loopback redirect URI: {0}")]
    InvalidRedirectUri(String),
    /// [`WebUi::authorize`] was given a redirect URI other than the one its session listens on.
    #[error("the request's redirect URI {requested} is not the UI's redirect URI {actual}")]
    RedirectUriMismatch {
        /// The redirect URI in the request.
        requested: String,
        /// The redirect URI the UI listens on.
        actual: String,
    },
    /// The listener could not be bound or failed (e.g. `AddrInUse` for a fixed port).
    #[error("the redirect listener failed ({kind:?}): {message}")]
    Io {
        /// The I/O error kind.
        kind: std::io::ErrorKind,
        /// The I/O error message.
        message: String,
    },
}

impl WebUiError {
    pub(crate) fn io(context: &str, e: &std::io::Error) -> Self {
        WebUiError::Io {
            kind: e.kind(),
            message: format!("{context}: {e}"),
        }
    }
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
            code: Secret::new(code.as_str()),
            client_info: params.get("client_info").cloned(),
        })
    }
}

/// Something that can show the identity provider's sign-in page and bring back the
/// authorization response.
///
/// Interactive sign-in is two steps, because the redirect URI is part of the authorization URL
/// and may only be known once the UI is ready (a loopback listener on a random port):
///
/// 1. [`WebUi::start`] prepares the UI (binds the listener, ...) and returns an
///    [`AuthorizationSession`] whose [`redirect_uri`](AuthorizationSession::redirect_uri) the
///    caller puts in the authorization URL (and later in the code redemption);
/// 2. [`AuthorizationSession::complete`] shows that URL and waits for the redirect.
///
/// Implementations must bind any local listener to loopback only, accept one response, check
/// `state` (use [`AuthorizationResponse::from_redirect_query`]), time out, and never log the
/// code. The trait is object safe: the facade holds a `Box<dyn WebUi>` or `Arc<dyn WebUi>`.
#[async_trait::async_trait]
pub trait WebUi: Send + Sync {
    /// Prepare the UI and return the session that knows the redirect URI.
    async fn start(&self) -> Result<Box<dyn AuthorizationSession>, WebUiError>;

    /// Both steps at once, for a caller that already knows the redirect URI (a UI with a fixed
    /// one): fails with [`WebUiError::RedirectUriMismatch`] if the session's redirect URI is not
    /// `request.redirect_uri`.
    async fn authorize(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<AuthorizationResponse, WebUiError> {
        let session = self.start().await?;
        if session.redirect_uri() != &request.redirect_uri {
            return Err(WebUiError::RedirectUriMismatch {
                requested: request.redirect_uri.to_string(),
                actual: session.redirect_uri().to_string(),
            });
        }
        session
            .complete(&request.authorize_url, &request.state)
            .await
    }
}

/// One prepared interactive sign-in, from [`WebUi::start`]. Dropping it (or the future of
/// [`complete`](AuthorizationSession::complete)) abandons the sign-in and releases what it
/// holds (a loopback listener is closed).
#[async_trait::async_trait]
pub trait AuthorizationSession: Send {
    /// The redirect URI to put in the authorization URL and in the code redemption.
    fn redirect_uri(&self) -> &Url;

    /// Show `authorize_url` and wait for the redirect; the response's `state` must equal
    /// `expected_state` (checked in constant time).
    async fn complete(
        self: Box<Self>,
        authorize_url: &Url,
        expected_state: &str,
    ) -> Result<AuthorizationResponse, WebUiError>;
}

impl fmt::Debug for dyn AuthorizationSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationSession")
            .field("redirect_uri", &self.redirect_uri().as_str())
            .finish_non_exhaustive()
    }
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

    struct Canned {
        redirect: Url,
        result: Result<AuthorizationResponse, WebUiError>,
    }

    struct CannedSession {
        redirect: Url,
        result: Result<AuthorizationResponse, WebUiError>,
    }

    #[async_trait::async_trait]
    impl WebUi for Canned {
        async fn start(&self) -> Result<Box<dyn AuthorizationSession>, WebUiError> {
            Ok(Box::new(CannedSession {
                redirect: self.redirect.clone(),
                result: self.result.clone(),
            }))
        }
    }

    #[async_trait::async_trait]
    impl AuthorizationSession for CannedSession {
        fn redirect_uri(&self) -> &Url {
            &self.redirect
        }
        async fn complete(
            self: Box<Self>,
            _: &Url,
            _: &str,
        ) -> Result<AuthorizationResponse, WebUiError> {
            self.result
        }
    }

    #[tokio::test]
    async fn the_traits_are_object_safe_and_authorize_checks_the_redirect_uri() {
        let ui: Box<dyn WebUi> = Box::new(Canned {
            redirect: Url::parse("http://localhost:8400").unwrap(),
            result: Err(WebUiError::Cancelled),
        });
        let authorize =
            Url::parse("https://login.microsoftonline.com/common/oauth2/v2.0/authorize").unwrap();
        let req = AuthorizationRequest::new(
            authorize.clone(),
            Url::parse("http://localhost:8400").unwrap(),
            "s",
        );
        assert_eq!(ui.authorize(&req).await, Err(WebUiError::Cancelled));

        let other =
            AuthorizationRequest::new(authorize, Url::parse("http://localhost:9").unwrap(), "s");
        assert!(matches!(
            ui.authorize(&other).await,
            Err(WebUiError::RedirectUriMismatch { .. })
        ));

        let session = ui.start().await.unwrap();
        assert!(format!("{session:?}").contains("localhost:8400"));
    }
}
