//! `acquire_token`: the whole silent-first pattern in one call.
//!
//! 1. Pick the account: the one given, else the cached account whose username matches the
//!    login hint, else the only cached account.
//! 2. Silent acquisition for it. Success, or any error but "interaction required", ends here.
//! 3. Interaction: the configured web UI (the system browser by default). When no browser can
//!    be opened (no display, an SSH session, a container) and the app allowed it with
//!    `device_code_fallback` (on the builder, or on this request), the device code flow
//!    instead. Concurrent callers that need interaction for the same account and scopes share
//!    one prompt and its result.

use std::future::IntoFuture;
use std::sync::Arc;

use futures::future::BoxFuture;
use msal_core::{Account, ScopeSet};
use msal_interactive::{DeviceCodeInfo, WebUiError};

use crate::client_core::ClientCore;
use crate::flows::device_code::{AcquireTokenWithDeviceCode, DeviceCodeCallback};
use crate::flows::interactive::{sign_in_interactively, InteractiveOptions, SignInUi};
use crate::flows::silent_params::SilentInput;
use crate::flows::user_silent::acquire_token_silent;
use crate::{AuthenticationResult, Error};

/// A silent-first request that falls back to interactive sign-in; `.await` it.
#[must_use = "a request does nothing until it is awaited"]
pub struct AcquireToken {
    pub(crate) core: Arc<ClientCore>,
    pub(crate) ui: Arc<SignInUi>,
    pub(crate) scopes: Vec<String>,
    pub(crate) account: Option<Account>,
    pub(crate) login_hint: Option<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) extra_query: crate::extra_query::QueryParams,
    /// This request's device-code fallback; overrides the application's.
    pub(crate) device_code: Option<DeviceCodeCallback>,
}

crate::extra_query::extra_query_setter!(AcquireToken, extra_query);

impl AcquireToken {
    /// Use this account (default: the one matching the login hint, or the only cached one).
    pub fn account(mut self, account: &Account) -> Self {
        self.account = Some(account.clone());
        self
    }

    /// Pick the cached account with this username, and pre-fill it if a prompt is needed.
    pub fn login_hint(mut self, login_hint: impl Into<String>) -> Self {
        self.login_hint = Some(login_hint.into());
        self
    }

    /// The correlation id sent as `client-request-id` (default: a new UUID).
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// Where no browser can be opened (no display, an SSH session, a container), sign in with
    /// the device code flow and show the code through `callback`. Overrides the application's
    /// [`device_code_fallback`](crate::PublicClientApplicationBuilder::device_code_fallback)
    /// for this request. `callback` is called once, before polling starts; the user then signs
    /// in on any other device.
    pub fn device_code_fallback(
        mut self,
        callback: impl Fn(&DeviceCodeInfo) + Send + Sync + 'static,
    ) -> Self {
        self.device_code = Some(Arc::new(callback));
        self
    }

    /// [`device_code_fallback`](Self::device_code_fallback) that prints the server's message
    /// ("To sign in, use a web browser to open the page ... and enter the code ...") on
    /// standard error, where it does not mix with what a program prints on standard output.
    pub fn print_device_code(self) -> Self {
        self.device_code_fallback(|info| eprintln!("{}", info.display_message()))
    }
}

impl IntoFuture for AcquireToken {
    type Output = Result<AuthenticationResult, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(run(self))
    }
}

impl std::fmt::Debug for AcquireToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquireToken")
            .field("scopes", &self.scopes)
            .field("login_hint", &self.login_hint)
            .field("device_code_fallback", &self.device_code.is_some())
            .finish_non_exhaustive()
    }
}

async fn run(request: AcquireToken) -> Result<AuthenticationResult, Error> {
    let (core, ui) = (request.core, request.ui);
    let device_code = request
        .device_code
        .or_else(|| ui.device_code_fallback.clone());
    let account = match request.account {
        Some(account) => Some(account),
        None => {
            let cache = core.cache.snapshot(msal_cache::Partition::All).await?;
            let accounts = cache.accounts(core.authority.environment(), &core.client_id);
            match &request.login_hint {
                Some(hint) => accounts
                    .into_iter()
                    .find(|a| a.username.eq_ignore_ascii_case(hint)),
                None if accounts.len() == 1 => accounts.into_iter().next(),
                None => None,
            }
        }
    };

    let mut claims = None;
    if let Some(account) = &account {
        let silent = acquire_token_silent(
            &core,
            SilentInput {
                scopes: request.scopes.clone(),
                account,
                force_refresh: false,
                claims: None,
                correlation_id: request.correlation_id.clone(),
                policy: None,
                extra_query: request.extra_query.clone(),
                tenant: None,
            },
        )
        .await;
        match silent {
            Ok(result) => return Ok(result),
            Err(e) if e.is_ui_required() => claims = e.claims().map(str::to_owned),
            Err(e) => return Err(e),
        }
    }

    let login_hint = request.login_hint.or_else(|| {
        account
            .as_ref()
            .map(|a| a.username.clone())
            .filter(|u| !u.is_empty())
    });
    let key = format!(
        "{}|{}",
        account
            .as_ref()
            .map(|a| a.home_account_id.to_ascii_lowercase())
            .or_else(|| login_hint.as_ref().map(|h| h.to_ascii_lowercase()))
            .unwrap_or_default(),
        ScopeSet::new(&request.scopes)
            .to_target()
            .to_ascii_lowercase()
    );
    let options = InteractiveOptions {
        scopes: request.scopes,
        login_hint,
        claims,
        correlation_id: request.correlation_id,
        extra_query: request.extra_query,
        ..InteractiveOptions::default()
    };
    let (flight, joined) = ui.prompts.run(key, {
        let (core, ui) = (Arc::clone(&core), Arc::clone(&ui));
        move || interact(core, ui, device_code, options)
    });
    if joined {
        tracing::debug!("joined a sign-in prompt already open for this account");
    }
    flight.await
}

/// The browser, or the device code flow where no browser can be opened and the app allows it.
async fn interact(
    core: Arc<ClientCore>,
    ui: Arc<SignInUi>,
    fallback: Option<DeviceCodeCallback>,
    options: InteractiveOptions,
) -> Result<AuthenticationResult, Error> {
    let device_code = |options: InteractiveOptions| {
        fallback.clone().map(|callback| AcquireTokenWithDeviceCode {
            core: Arc::clone(&core),
            scopes: options.scopes,
            callback,
            claims: options.claims,
            correlation_id: options.correlation_id,
            extra_query: options.extra_query,
            tenant: options.tenant,
            scheme: options.scheme,
        })
    };
    if !ui.custom_web_ui && !msal_interactive::browser_available() {
        if let Some(flow) = device_code(options.clone()) {
            tracing::info!("no browser can be opened here; signing in with a device code");
            return flow.await;
        }
    }
    match sign_in_interactively(&core, ui.web_ui.as_ref(), options.clone()).await {
        Err(Error::Interaction(WebUiError::Unavailable(reason))) => match device_code(options) {
            Some(flow) => {
                tracing::info!(%reason, "the browser could not be opened; signing in with a device code");
                flow.await
            }
            None => Err(Error::Interaction(WebUiError::Unavailable(reason))),
        },
        other => other,
    }
}
