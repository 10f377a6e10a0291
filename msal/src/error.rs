//! The facade's error type.

use std::time::{Duration, SystemTime};

use msal_core::{AuthorityError, OAuthError, UiRequiredClassification};

/// Everything that can go wrong acquiring a token.
///
/// Check [`Error::is_ui_required`] first: it is the signal to sign the user in interactively.
/// [`Error::is_transient`] says whether trying again later may succeed. No variant carries a
/// token, a secret or a response body that could hold one: server text kept in an error (an
/// `error_description`, a body excerpt) has every secret the request carried replaced by
/// `[redacted]`, and token-like runs in a body excerpt are redacted too.
///
/// Each message says its context once: a variant that wraps a self-describing error (the
/// cache's, the authority's, the sign-in UI's) shows that error's message as it is.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The user must sign in interactively (no account, no refresh token, or the identity
    /// provider asked for interaction).
    #[error("interaction required: {0}")]
    UiRequired(Box<UiRequiredError>),
    /// The identity provider answered with an OAuth error that interaction will not fix.
    #[error("the identity provider returned an error: {0}")]
    Service(Box<ServiceError>),
    /// Identical requests are blocked locally after the identity provider asked us to back off.
    #[error("request throttled until {} after HTTP {status} from the identity provider", httpdate_or_secs(*until))]
    Throttled {
        /// When identical requests may be sent again.
        until: SystemTime,
        /// The HTTP status that caused the block.
        status: u16,
    },
    /// The request could not be sent or answered (timeout, connection failure or reset...).
    #[error("no usable answer from the identity provider: {0}")]
    Http(#[from] msal_http::HttpError),
    /// The identity provider, or a proxy or gateway in front of it, answered without a protocol
    /// message: a 5xx, 408 or 429 without an OAuth error body (an HTML error page), or a 2xx
    /// whose body is not JSON at all (a captive portal). Transient.
    #[error("{}", unavailable_message(*status, *retry_after, detail))]
    ServiceUnavailable {
        /// The HTTP status.
        status: u16,
        /// How long the server asked us to wait (`Retry-After`), when it said.
        retry_after: Option<Duration>,
        /// What the answer was (a redacted excerpt of the body, never a token or a secret).
        detail: String,
    },
    /// The identity provider's answer is not a valid protocol message.
    #[error("protocol error: {message}")]
    Protocol {
        /// The HTTP status of the answer, when there was one.
        status: Option<u16>,
        /// What is wrong (never a token).
        message: String,
    },
    /// The token cache could not be read or written. (The cache's messages name the cache.)
    #[error(transparent)]
    Cache(#[from] msal_cache::CacheError),
    /// The authority or its discovery document is invalid. (Its messages name the authority.)
    #[error(transparent)]
    Authority(#[from] AuthorityError),
    /// An argument is invalid (empty scopes, malformed claims JSON, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The identity provider returned tokens for a different account than the one asked for.
    #[error("the identity provider returned tokens for a different account than requested")]
    UserMismatch,
    /// An OpenID Connect provider's ID token names another issuer (`iss`) than its discovery
    /// document: it may come from another provider, and is refused. Not transient.
    #[error("the ID token was issued by {found:?}, not by the authority's issuer {expected:?}")]
    IssuerMismatch {
        /// The issuer of the provider's discovery document.
        expected: String,
        /// The ID token's `iss` (empty when it has none).
        found: String,
    },
    /// Interactive sign-in (browser or device code) did not complete: the user declined,
    /// cancelled or took too long, the redirect was forged, or no UI could be shown. (Its
    /// messages name the sign-in.)
    #[error(transparent)]
    Interaction(#[from] msal_interactive::WebUiError),
    /// The client credential could not be used: an unreadable certificate or key, a key that
    /// does not belong to its certificate, or an assertion callback that failed.
    #[error("client credential: {message}")]
    Credential {
        /// What is wrong (never a secret).
        message: String,
        /// The underlying error (e.g. the assertion callback's), also the error's `source()`.
        #[source]
        source: Option<SharedError>,
    },
    /// Another process sharing the token cache has been refreshing the same tokens for longer
    /// than a refresh can legitimately take, and this call would not redeem the refresh token
    /// it holds (a rotating refresh token must never be redeemed twice). Transient: try again
    /// shortly; a still-valid cached token is served instead where there is one.
    #[error("another process has been refreshing these tokens for {}s; not refreshing them twice", waited.as_secs())]
    RefreshInProgress {
        /// How long this call waited for the other process.
        waited: std::time::Duration,
    },
    /// A managed identity token could not be obtained: the error names the source used, what
    /// went wrong and what to check (see [`crate::managed_identity`]).
    #[error("managed identity ({source}): {0}", source = .0.source)]
    ManagedIdentity(Box<crate::managed_identity::error::ManagedIdentityError>),
    /// Workload identity federation cannot be used: a variable is missing, or the federated
    /// token file is missing, empty or expired (see [`crate::workload_identity`]).
    #[error("workload identity: {0}")]
    WorkloadIdentity(crate::workload_identity::error::WorkloadIdentityError),
    /// A long-running on-behalf-of process asked for a token with its session key, but the
    /// cache holds no token for that key (never initiated, removed, or the cache was lost):
    /// initiate the process again with an incoming token (see [`crate::long_running_obo`]).
    #[error("no token is cached for this long-running on-behalf-of session key; initiate the process again with an incoming token")]
    LongRunningSessionNotFound,
    /// A background task failed unexpectedly (a bug: please report it).
    #[error("internal error: {0}")]
    Internal(String),
}

/// An error shared by clones of [`Error`] (which is `Clone`): dereferences to the error itself,
/// and [`std::error::Error::source`] of the [`Error`] holding it returns the inner error, so
/// `downcast_ref` and error-chain walkers (anyhow, eyre) find it.
#[derive(Clone)]
pub struct SharedError(std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl SharedError {
    /// Share `error`.
    pub fn new(error: Box<dyn std::error::Error + Send + Sync>) -> Self {
        SharedError(error.into())
    }
}

// Deliberately not `std::error::Error` itself: thiserror then reaches the inner error through
// `Deref` and hands that out as the source, instead of this wrapper.
impl std::ops::Deref for SharedError {
    type Target = dyn std::error::Error + Send + Sync;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl std::fmt::Debug for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&*self.0, f)
    }
}

fn transient_status(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

fn unavailable_message(status: u16, retry_after: Option<Duration>, detail: &str) -> String {
    let what = match status {
        429 => "the identity provider is throttling requests",
        200..=299 => "the answer is not from the identity provider (a proxy or captive portal?)",
        _ => "the identity provider is unavailable",
    };
    match retry_after {
        Some(wait) => format!(
            "{what} (HTTP {status}, retry after {} s): {detail}",
            wait.as_secs()
        ),
        None => format!("{what} (HTTP {status}): {detail}"),
    }
}

fn httpdate_or_secs(t: SystemTime) -> String {
    msal_core::clock::unix_seconds(t).to_string() + " (Unix seconds)"
}

/// Why interaction is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UiRequiredReason {
    /// The account given has no home account id, or is not in the cache.
    NoAccount,
    /// The cache holds no refresh token this app can use for the account.
    NoTokens,
    /// The identity provider answered that the user must interact.
    ServerRequested,
    /// An earlier redemption of the cached refresh token got no answer (it timed out, or its
    /// process ended mid-request), and the provider's refresh tokens are single-use (an OpenID
    /// Connect provider other than Entra ID): it may already be spent, and presenting it again
    /// could revoke the user's whole session, so it is not sent again.
    RefreshOutcomeUnknown,
}

/// Details of an "interaction required" error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiRequiredError {
    /// Why.
    pub reason: UiRequiredReason,
    /// The classification from the server's `suberror`, or `AcquireTokenSilentFailed` when the
    /// cache could not start a silent acquisition.
    pub classification: Option<UiRequiredClassification>,
    /// A claims challenge to pass to the interactive request.
    pub claims: Option<String>,
    /// The server's error, when the server answered.
    pub oauth: Option<OAuthError>,
    /// The request's correlation id.
    pub correlation_id: Option<String>,
}

impl std::fmt::Display for UiRequiredError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.oauth, self.reason) {
            (Some(e), _) => write!(f, "the identity provider answered {e}"),
            (None, UiRequiredReason::NoAccount) => {
                f.write_str("no signed-in account was given or found in the cache")
            }
            (None, UiRequiredReason::NoTokens) => {
                f.write_str("no refresh token for this account in the cache")
            }
            (None, UiRequiredReason::ServerRequested) => {
                f.write_str("the identity provider requires interaction")
            }
            (None, UiRequiredReason::RefreshOutcomeUnknown) => f.write_str(
                "an earlier use of the cached refresh token got no answer; it is not sent twice",
            ),
        }
    }
}

/// An OAuth error from the identity provider that is not "interaction required".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// HTTP status.
    pub status: u16,
    /// The error body.
    pub oauth: OAuthError,
    /// The request's correlation id.
    pub correlation_id: Option<String>,
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.oauth)
    }
}

impl Error {
    /// Whether the user must sign in interactively to go on.
    pub fn is_ui_required(&self) -> bool {
        matches!(self, Error::UiRequired(_))
    }

    /// Whether the failure is temporary: trying again later (not in a tight loop) may succeed.
    /// A transient failure is never reported as "interaction required".
    ///
    /// Transient:
    /// - network failures: timeouts, connections refused, reset or closed before the answer
    ///   was complete ([`Error::Http`], per [`msal_http::HttpError::is_transient`]);
    /// - [`Error::Throttled`], and [`Error::ServiceUnavailable`]: a 5xx, 408 or 429 without an
    ///   OAuth error body, or a 2xx whose body is not JSON (a proxy or captive portal);
    /// - an OAuth error answer with a 5xx, 408 or 429 status, or whose `error` is
    ///   `temporarily_unavailable` or `request_timeout`;
    /// - a protocol error on a 5xx, 408 or 429 answer.
    ///
    /// Not transient: every other OAuth error answer (a 400 or 401 with an `error` code such as
    /// `invalid_grant`, `invalid_client`, `invalid_scope`), "interaction required", a user
    /// mismatch, an answer that is JSON but not a valid token response, invalid arguments,
    /// cache, authority and credential errors.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Http(e) => e.is_transient(),
            Error::Throttled { .. }
            | Error::RefreshInProgress { .. }
            | Error::ServiceUnavailable { .. } => true,
            Error::Service(s) => transient_status(s.status) || s.oauth.is_transient(),
            Error::Protocol { status, .. } => status.is_some_and(transient_status),
            Error::ManagedIdentity(e) => e.is_transient(),
            _ => false,
        }
    }

    /// The UI-required classification, if any.
    pub fn classification(&self) -> Option<UiRequiredClassification> {
        match self {
            Error::UiRequired(u) => u.classification,
            _ => None,
        }
    }

    /// The claims challenge the identity provider sent, to pass on to an interactive request.
    pub fn claims(&self) -> Option<&str> {
        match self {
            Error::UiRequired(u) => u.claims.as_deref(),
            Error::Service(s) => s.oauth.claims.as_deref(),
            _ => None,
        }
    }

    /// The server's OAuth error, when it sent one.
    pub fn oauth_error(&self) -> Option<&OAuthError> {
        match self {
            Error::UiRequired(u) => u.oauth.as_ref(),
            Error::Service(s) => Some(&s.oauth),
            _ => None,
        }
    }

    /// The correlation id of the request that failed, when one was sent.
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            Error::UiRequired(u) => u.correlation_id.as_deref(),
            Error::Service(s) => s.correlation_id.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn ui_required(reason: UiRequiredReason, correlation_id: Option<&str>) -> Self {
        Error::UiRequired(Box::new(UiRequiredError {
            reason,
            classification: Some(UiRequiredClassification::AcquireTokenSilentFailed),
            claims: None,
            oauth: None,
            correlation_id: correlation_id.map(str::to_owned),
        }))
    }
}
