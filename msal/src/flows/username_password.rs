//! Username and password (the resource owner password credentials grant, ROPC; MSAL.NET's
//! `AcquireTokenByUsernamePassword`, MSAL Python's `acquire_token_by_username_password`).
//!
//! **Deprecated: for test automation only.** The app sees the user's password, the user cannot
//! do multi-factor authentication or consent, and Microsoft is retiring the grant for accounts
//! with MFA. Use interactive sign-in or the device code flow in anything a person uses.
//!
//! When Entra requires more than a password (MFA, AADSTS50076 / 50079, conditional access,
//! consent), the answer is [`Error::UiRequired`], as for any "interaction required" answer:
//! the account cannot use this grant. The tokens are cached like any sign-in's, so
//! `acquire_token_silent` serves the account afterwards.
//!
//! # Choices
//! - Cloud (managed) accounts only: a federated account (ADFS) would need a WS-Trust exchange
//!   with the federation server, which msal-rs does not implement; Entra answers such a request
//!   with an error, returned as it is.
//! - The password is a [`Secret`]: never logged, never in `Debug`, replaced in any server text
//!   kept in an error.

use std::future::IntoFuture;
use std::sync::Arc;

use futures::future::BoxFuture;
use msal_core::Secret;

use crate::client_core::ClientCore;
use crate::flows::on_behalf_of::user_assertion_hash;
use crate::flows::sign_in::{save_sign_in, start_sign_in, SignIn, SignInKind, SignInStart};
use crate::http::throttle::throttle_key;
use crate::token_request::{send_throttled, ThrottledRequest};
use crate::{AuthenticationResult, Error};

/// A username/password sign-in (deprecated, test automation only); set options, then `.await`
/// it.
#[must_use = "a request does nothing until it is awaited"]
pub struct AcquireTokenByUsernamePassword {
    pub(crate) core: Arc<ClientCore>,
    pub(crate) username: String,
    pub(crate) password: Secret,
    pub(crate) scopes: Vec<String>,
    pub(crate) claims: Option<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) extra_query: crate::extra_query::QueryParams,
}

crate::extra_query::extra_query_setter!(AcquireTokenByUsernamePassword, extra_query);

impl AcquireTokenByUsernamePassword {
    /// A claims request (JSON) to send with the sign-in.
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

impl IntoFuture for AcquireTokenByUsernamePassword {
    type Output = Result<AuthenticationResult, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(run(self))
    }
}

// Hand-written to leave out the client's internals; the password redacts itself.
impl std::fmt::Debug for AcquireTokenByUsernamePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquireTokenByUsernamePassword")
            .field("username", &self.username)
            .field("password", &self.password)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

async fn run(request: AcquireTokenByUsernamePassword) -> Result<AuthenticationResult, Error> {
    let core = &request.core;
    let username = request.username.trim();
    if username.is_empty() {
        return Err(Error::InvalidArgument("the username is empty".into()));
    }
    let password = request.password.expose_secret();
    if password.is_empty() {
        return Err(Error::InvalidArgument("the password is empty".into()));
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
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
        ("scope", &scope),
        ("client_info", "1"),
    ];
    if let Some(claims) = &claims {
        form.push(("claims", claims));
    }
    let authority_url = authority.canonical_url();
    let user = username.to_ascii_lowercase();
    // The same credentials answered "interaction required" (MFA) a moment ago get that answer
    // again for a while, without asking: a test loop cannot hammer the service.
    let credentials = user_assertion_hash(&format!("{user}\n{password}"));
    let tokens = send_throttled(
        core,
        ThrottledRequest {
            token_endpoint: &endpoints.token,
            form: &form,
            correlation_id: &correlation_id,
            anchor_mailbox: None,
            strict_key: throttle_key(&[&core.client_id, &authority_url, &scope, &user]),
            ui_key: Some(throttle_key(&[
                &core.client_id,
                &authority_url,
                &scope,
                "password",
                &credentials,
            ])),
            single_use: false,
            extra_query: &extra_query,
        },
    )
    .await?;
    tracing::debug!(%correlation_id, "signed in with username and password");
    let sign_in = SignIn {
        authority: &authority,
        requested: &requested,
        kind: SignInKind::UsernamePassword,
        nonce: None,
        correlation_id: &correlation_id,
        scheme: None,
    };
    save_sign_in(core, sign_in, tokens).await
}
