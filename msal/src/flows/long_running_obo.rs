//! Long-running on-behalf-of (MSAL.NET's `InitiateLongRunningProcessInWebApi` and
//! `AcquireTokenInLongRunningProcess`): a web API starts work on behalf of its caller that
//! goes on after the caller's token has expired (a report, a sync, a batch).
//!
//! 1. While handling the caller's request, [`initiate`] with the incoming token: the
//!    on-behalf-of exchange, its tokens cached under a *session key*, which the API keeps
//!    (with the job).
//! 2. Later, from the background work, [`acquire`] with the session key alone: the cached
//!    access token while it is fresh, else the cached on-behalf-of refresh token redeemed
//!    (and the new tokens cached under the same key). No incoming token is needed.
//!
//! The session key is the caller's choice ([`InitiateLongRunningProcess::session_key`]), or,
//! as in MSAL.NET, the incoming token's hash (base64url SHA-256, [`user_assertion_hash`]): the
//! same key a plain on-behalf-of request caches under, so a key derived this way also serves
//! [`acquire_token_on_behalf_of`] with that token. It is returned with the first result.
//!
//! When the cache holds no refresh token for the key, [`acquire`] fails with
//! [`Error::LongRunningSessionNotFound`]; when the refresh token is refused (revoked, expired,
//! conditional access), with the identity provider's answer ([`Error::UiRequired`] for
//! "interaction required"). Either way, the process needs a new incoming token: initiate again.
//!
//! ```no_run
//! # async fn run(app: msal::ConfidentialClientApplication, incoming_token: String) -> Result<(), msal::Error> {
//! // In the request handler:
//! let session = app
//!     .initiate_long_running_process_in_web_api(incoming_token, ["https://graph.microsoft.com/.default"])
//!     .await?;
//! let key = session.session_key.clone(); // keep it with the job
//!
//! // Hours later, in the background job:
//! let token = app
//!     .acquire_token_in_long_running_process(&key, ["https://graph.microsoft.com/.default"])
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # Choices
//! - Initiating with a key already in the cache behaves as a plain on-behalf-of request under
//!   that key: a fresh cached token is returned, else the refresh token, else the assertion.
//! - A session key is 1 to 1024 characters without control characters (it names a cache
//!   partition, e.g. a Redis key).
//!
//! [`initiate`]: crate::ConfidentialClientApplication::initiate_long_running_process_in_web_api
//! [`acquire`]: crate::ConfidentialClientApplication::acquire_token_in_long_running_process
//! [`acquire_token_on_behalf_of`]: crate::ConfidentialClientApplication::acquire_token_on_behalf_of
//! [`user_assertion_hash`]: crate::on_behalf_of::user_assertion_hash

use std::future::IntoFuture;
use std::sync::Arc;

use futures::future::BoxFuture;
use msal_core::Secret;

use crate::client_core::ClientCore;
use crate::engine::serve;
use crate::flows::on_behalf_of::OboFlow;
use crate::request::{request_options, RequestOptions};
use crate::{AuthenticationResult, Error};

/// What [`InitiateLongRunningProcess`] returns: the first token and the session key to acquire
/// later ones with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LongRunningSession {
    /// The key the process's tokens are cached under: keep it for
    /// [`acquire_token_in_long_running_process`](crate::ConfidentialClientApplication::acquire_token_in_long_running_process).
    pub session_key: String,
    /// The token for the downstream API.
    pub result: AuthenticationResult,
}

/// Starts a long-running on-behalf-of process; set options, then `.await` it.
#[must_use = "a request does nothing until it is awaited"]
pub struct InitiateLongRunningProcess {
    pub(crate) core: Arc<ClientCore>,
    pub(crate) user_assertion: Secret,
    pub(crate) session_key: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) options: RequestOptions,
}

request_options!(InitiateLongRunningProcess);
crate::pop::scheme_setters!(
    InitiateLongRunningProcess,
    "app: msal::ConfidentialClientApplication, incoming: String",
    "app.initiate_long_running_process_in_web_api(incoming, [\"https://resource.example/.default\"])",
    "app.initiate_long_running_process_in_web_api(incoming, [\"https://pas.windows.net/CheckMyAccess/Linux/.default\"])",
    result = "r.result",
    options.auth_scheme
);

impl InitiateLongRunningProcess {
    /// The key to cache the process's tokens under (default: the incoming token's hash, as
    /// MSAL.NET derives it).
    pub fn session_key(mut self, key: impl Into<String>) -> Self {
        self.session_key = Some(key.into());
        self
    }
}

impl IntoFuture for InitiateLongRunningProcess {
    type Output = Result<LongRunningSession, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            use tracing::Instrument;
            let flow = Arc::new(OboFlow::new(
                &self.core,
                Some(self.user_assertion),
                self.session_key,
                &self.scopes,
                self.options,
            )?);
            let session_key = flow.cache_key().to_owned();
            let span = tracing::debug_span!("initiate_long_running_process", correlation_id = %flow.correlation_id);
            let now = self.core.now_secs();
            let result = serve(self.core, Arc::clone(&flow)).instrument(span).await?;
            let result = flow.finish(result, now)?;
            Ok(LongRunningSession {
                session_key,
                result,
            })
        })
    }
}

// Hand-written to leave out the client's internals; the assertion redacts itself.
impl std::fmt::Debug for InitiateLongRunningProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitiateLongRunningProcess")
            .field("user_assertion", &self.user_assertion)
            .field("session_key", &self.session_key)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// A token for a long-running process, by its session key; set options, then `.await` it.
#[must_use = "a request does nothing until it is awaited"]
pub struct AcquireTokenInLongRunningProcess {
    pub(crate) core: Arc<ClientCore>,
    pub(crate) session_key: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) options: RequestOptions,
}

request_options!(AcquireTokenInLongRunningProcess);
crate::pop::scheme_setters!(
    AcquireTokenInLongRunningProcess,
    "app: msal::ConfidentialClientApplication, key: String",
    "app.acquire_token_in_long_running_process(&key, [\"https://resource.example/.default\"])",
    "app.acquire_token_in_long_running_process(&key, [\"https://pas.windows.net/CheckMyAccess/Linux/.default\"])",
    options.auth_scheme
);

impl IntoFuture for AcquireTokenInLongRunningProcess {
    type Output = Result<AuthenticationResult, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            use tracing::Instrument;
            let flow = Arc::new(OboFlow::new(
                &self.core,
                None,
                Some(self.session_key),
                &self.scopes,
                self.options,
            )?);
            let span = tracing::debug_span!("acquire_token_in_long_running_process", correlation_id = %flow.correlation_id);
            let now = self.core.now_secs();
            let result = serve(self.core, Arc::clone(&flow)).instrument(span).await?;
            flow.finish(result, now)
        })
    }
}

impl std::fmt::Debug for AcquireTokenInLongRunningProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquireTokenInLongRunningProcess")
            .field("session_key", &self.session_key)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}
