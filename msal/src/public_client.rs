//! [`PublicClientApplication`]: desktop, mobile and command-line apps acting for a user.

use std::future::IntoFuture;
use std::sync::Arc;

use futures::future::BoxFuture;
use msal_cache::{AccountRemoval, Partition};
use msal_core::Account;

use crate::builder::PublicClientApplicationBuilder;
use crate::client_core::ClientCore;
use crate::flows::acquire::AcquireToken;
use crate::flows::device_code::AcquireTokenWithDeviceCode;
use crate::flows::interactive::{AcquireTokenInteractive, InteractiveOptions, SignInUi};
use crate::flows::user_silent::{acquire_token_silent, SilentInput};
use crate::{AuthenticationResult, Error};
use msal_interactive::DeviceCodeInfo;

/// An application that signs users in and acts for them, without a secret of its own.
///
/// Cheap to clone (clones share one cache, one transport and one single-flight map) and
/// `Send + Sync`: build it once and share it.
#[derive(Clone)]
pub struct PublicClientApplication {
    pub(crate) core: Arc<ClientCore>,
    pub(crate) ui: Arc<SignInUi>,
}

impl PublicClientApplication {
    /// Start building an application registered with `client_id`.
    pub fn builder(client_id: impl Into<String>) -> PublicClientApplicationBuilder {
        PublicClientApplicationBuilder::new(client_id)
    }

    /// The application (client) id.
    pub fn client_id(&self) -> &str {
        &self.core.client_id
    }

    /// The configured authority.
    pub fn authority(&self) -> &msal_core::Authority {
        &self.core.authority
    }

    /// The accounts this app can get tokens for silently, from the cache (no network).
    ///
    /// An account is listed when the cache holds a refresh token this app may use for it (its
    /// own, or a family one), in any alias of the authority's host; one entry per home account.
    pub async fn accounts(&self) -> Result<Vec<Account>, Error> {
        let cache = self.core.cache.snapshot(Partition::All).await?;
        Ok(cache.accounts(self.core.authority.environment(), &self.core.client_id))
    }

    /// The account with this home account id, if this app can use it (the same rule as
    /// [`accounts`](Self::accounts)). A hash lookup: its cost does not grow with the number of
    /// accounts in the cache.
    pub async fn account(&self, home_account_id: &str) -> Result<Option<Account>, Error> {
        let cache = self.core.cache.snapshot(Partition::All).await?;
        let environment = self.core.authority.environment();
        let Some(account) = cache.account(home_account_id, environment) else {
            return Ok(None);
        };
        let usable = cache
            .refresh_tokens(&account.home_account_id, environment)
            .into_iter()
            .any(|rt| cache.is_refresh_token_usable(rt, environment, &self.core.client_id));
        Ok(usable.then_some(account))
    }

    /// Get a token without user interaction: from the cache when a valid one is there (no
    /// network), else by redeeming the cached refresh token. Fails with
    /// [`Error::UiRequired`] when only an interactive sign-in can help.
    ///
    /// The returned builder takes options and is awaited directly.
    pub fn acquire_token_silent<'a, I>(
        &'a self,
        scopes: I,
        account: &'a Account,
    ) -> AcquireTokenSilent<'a>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        AcquireTokenSilent {
            core: &self.core,
            input: SilentInput {
                scopes: scopes.into_iter().map(|s| s.as_ref().to_owned()).collect(),
                account,
                force_refresh: false,
                claims: None,
                correlation_id: None,
            },
        }
    }

    /// Sign a user in interactively: the authorization code flow with PKCE through the
    /// configured web UI (by default the system browser, redirected back to a loopback
    /// listener). The tokens are cached and the account appears in
    /// [`accounts`](Self::accounts).
    pub fn acquire_token_interactive<I>(&self, scopes: I) -> AcquireTokenInteractive
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        AcquireTokenInteractive {
            core: Arc::clone(&self.core),
            ui: Arc::clone(&self.ui),
            options: InteractiveOptions {
                scopes: scopes.into_iter().map(|s| s.as_ref().to_owned()).collect(),
                ..InteractiveOptions::default()
            },
        }
    }

    /// The whole silent-first pattern in one call: a cached token, else a refresh with the
    /// cached refresh token, else interactive sign-in (the browser, or the device code flow
    /// where no browser can be opened and the app set
    /// [`device_code_fallback`](crate::PublicClientApplicationBuilder::device_code_fallback),
    /// or this request's [`device_code_fallback`](AcquireToken::device_code_fallback) or
    /// [`print_device_code`](AcquireToken::print_device_code)).
    /// Concurrent calls that need the user for the same account and scopes share one prompt.
    ///
    /// ```no_run
    /// # async fn f(app: msal::PublicClientApplication) -> Result<(), msal::Error> {
    /// let token = app
    ///     .acquire_token(["User.Read"])
    ///     .print_device_code() // on a machine with no browser: prints the code on stderr
    ///     .await?;
    /// println!("{} (from {}), expires {}", token.account().map_or("", |a| a.username.as_str()),
    ///     token.acquisition(), token.expires_on_utc());
    /// # Ok(()) }
    /// ```
    pub fn acquire_token<I>(&self, scopes: I) -> AcquireToken
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        AcquireToken {
            core: Arc::clone(&self.core),
            ui: Arc::clone(&self.ui),
            scopes: scopes.into_iter().map(|s| s.as_ref().to_owned()).collect(),
            account: None,
            login_hint: None,
            correlation_id: None,
            device_code: None,
        }
    }

    /// Sign a user in with the device code flow (RFC 8628): `callback` receives the code and
    /// the address to show the user, who signs in on any other device; this call then polls
    /// until the sign-in completes, is declined, or the code expires. The tokens are cached and
    /// the account appears in [`accounts`](Self::accounts).
    ///
    /// Made for devices and sessions without a browser (SSH, containers). Dropping the returned
    /// future stops polling.
    pub fn acquire_token_with_device_code<I, F>(
        &self,
        scopes: I,
        callback: F,
    ) -> AcquireTokenWithDeviceCode
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
        F: Fn(&DeviceCodeInfo) + Send + Sync + 'static,
    {
        AcquireTokenWithDeviceCode {
            core: Arc::clone(&self.core),
            scopes: scopes.into_iter().map(|s| s.as_ref().to_owned()).collect(),
            callback: Arc::new(callback),
            claims: None,
            correlation_id: None,
        }
    }

    /// Sign an account out of this app: remove its refresh token (and the family's, if this app
    /// is a family member), its access and ID tokens for this app, and its account entries once
    /// no app sharing the cache holds a refresh token for it.
    pub async fn remove_account(&self, account: &Account) -> Result<(), Error> {
        if account.home_account_id.is_empty() {
            return Ok(());
        }
        let removal = AccountRemoval {
            home_account_id: &account.home_account_id,
            environment: self.core.authority.environment(),
            client_id: &self.core.client_id,
        };
        self.core
            .cache
            .write(self.core.user_partition(&account.home_account_id), |c| {
                c.remove_account(&removal)
            })
            .await?;
        Ok(())
    }
}

impl std::fmt::Debug for PublicClientApplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicClientApplication")
            .field("client_id", &self.core.client_id)
            .field("authority", &self.core.authority)
            .finish_non_exhaustive()
    }
}

/// A silent token request; set options, then `.await` it.
///
/// It borrows the application and the account until it completes: a cache hit then takes
/// no reference count on either, which threads sharing an app would contend on. To run it on
/// another task, move clones into that task (`PublicClientApplication` is cheap to clone).
#[must_use = "a request does nothing until it is awaited"]
pub struct AcquireTokenSilent<'a> {
    pub(crate) core: &'a Arc<ClientCore>,
    pub(crate) input: SilentInput<'a>,
}

impl AcquireTokenSilent<'_> {
    /// Skip the cached access token and redeem the refresh token (default false).
    pub fn force_refresh(mut self, force: bool) -> Self {
        self.input.force_refresh = force;
        self
    }

    /// A claims challenge (JSON) from a resource's `WWW-Authenticate` header; skips the cached
    /// access token and is sent with the refresh.
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.input.claims = Some(claims.into());
        self
    }

    /// The correlation id sent as `client-request-id` (default: a new UUID).
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.input.correlation_id = Some(id.into());
        self
    }
}

impl<'a> IntoFuture for AcquireTokenSilent<'a> {
    type Output = Result<AuthenticationResult, Error>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(acquire_token_silent(self.core, self.input))
    }
}

impl std::fmt::Debug for AcquireTokenSilent<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquireTokenSilent")
            .field("scopes", &self.input.scopes)
            .field("account", &self.input.account.home_account_id)
            .field("force_refresh", &self.input.force_refresh)
            .field("claims", &self.input.claims.is_some())
            .finish()
    }
}
