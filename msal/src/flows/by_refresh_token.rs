//! Redeeming a refresh token obtained elsewhere (MSAL.NET's `AcquireTokenByRefreshToken`, MSAL
//! Python's `acquire_token_by_refresh_token`): for apps migrating from ADAL or another library
//! that kept refresh tokens of their own.
//!
//! The token is redeemed once, like a sign-in: the answer is cached as any sign-in's is (the
//! account from `client_info` and the ID token, its access, ID and refresh tokens), and from
//! then on the app uses `acquire_token_silent` with that account. The cache is never asked
//! first: the caller hands over a token precisely because the cache does not know the user yet.
//!
//! # Choices
//! - When the answer carries no new refresh token, the one given is cached in its place, so
//!   silent calls keep working (Entra always sends a new one).
//! - A provider whose refresh tokens are single-use (an OpenID Connect provider other than
//!   Entra ID) gets the token at most once, without retry, as for a cached one.
//! - The given token is a [`Secret`]: never logged, never in `Debug` or in an error.

use std::future::IntoFuture;
use std::sync::Arc;

use futures::future::BoxFuture;
use msal_core::Secret;

use crate::client_core::ClientCore;

use crate::flows::refresh_redemption::single_use_refresh_tokens;
use crate::flows::sign_in::{save_sign_in, start_sign_in, SignIn, SignInKind, SignInStart};
use crate::http::throttle::{secret_fingerprint, throttle_key};
use crate::token_request::{send_throttled, ThrottledRequest};
use crate::{AuthenticationResult, Error};

/// A refresh token redemption; set options, then `.await` it.
#[must_use = "a request does nothing until it is awaited"]
pub struct AcquireTokenByRefreshToken {
    pub(crate) core: Arc<ClientCore>,
    pub(crate) refresh_token: Secret,
    pub(crate) scopes: Vec<String>,
    pub(crate) claims: Option<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) extra_query: crate::extra_query::QueryParams,
}

crate::extra_query::extra_query_setter!(AcquireTokenByRefreshToken, extra_query);

impl AcquireTokenByRefreshToken {
    /// A claims request (JSON) to send with the redemption.
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// The correlation id sent as `client-request-id` (default: a new UUID).
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }
}

impl IntoFuture for AcquireTokenByRefreshToken {
    type Output = Result<AuthenticationResult, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(run(self))
    }
}

// Hand-written to leave out the client's internals; the refresh token redacts itself.
impl std::fmt::Debug for AcquireTokenByRefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquireTokenByRefreshToken")
            .field("refresh_token", &self.refresh_token)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

async fn run(request: AcquireTokenByRefreshToken) -> Result<AuthenticationResult, Error> {
    let core = &request.core;
    let given = request.refresh_token.expose_secret();
    if given.trim().is_empty() {
        return Err(Error::InvalidArgument("the refresh token is empty".into()));
    }
    let SignInStart {
        correlation_id,
        requested,
        claims,
        authority,
        endpoints,
        extra_query,
    } = start_sign_in(
        core,
        &request.scopes,
        request.claims.as_deref(),
        request.correlation_id,
        &request.extra_query,
    )
    .await?;
    let scope = requested.to_request_string();
    let mut form: Vec<(&str, &str)> = vec![
        ("client_id", &core.client_id),
        ("grant_type", "refresh_token"),
        ("refresh_token", given),
        ("scope", &scope),
        ("client_info", "1"),
    ];
    if let Some(claims) = &claims {
        form.push(("claims", claims));
    }
    let authority_url = authority.canonical_url();
    let fingerprint = secret_fingerprint(given);
    let mut tokens = send_throttled(
        core,
        ThrottledRequest {
            token_endpoint: &endpoints.token,
            form: &form,
            correlation_id: &correlation_id,
            anchor_mailbox: None,
            strict_key: throttle_key(&[&core.client_id, &authority_url, &scope, &fingerprint]),
            ui_key: Some(throttle_key(&[
                &core.client_id,
                &authority_url,
                &scope,
                "by_refresh_token",
                &fingerprint,
            ])),
            single_use: single_use_refresh_tokens(&authority),
            extra_query: &extra_query,
        },
    )
    .await?;
    if tokens.refresh_token.is_none() {
        tokens.refresh_token = Some(given.into());
    }
    tracing::debug!(%correlation_id, "external refresh token redeemed");
    let sign_in = SignIn {
        authority: &authority,
        requested: &requested,
        kind: SignInKind::RefreshToken,
        nonce: None,
        correlation_id: &correlation_id,
        scheme: None,
    };
    save_sign_in(core, sign_in, tokens).await
}
