//! [`PublicClientApplication`]: desktop, mobile and command-line apps acting for a user.

use std::future::IntoFuture;
use std::marker::PhantomData;
use std::sync::Arc;

use futures::future::BoxFuture;
use msal_cache::{AccountRemoval, Partition};
use msal_core::{Account, Secret};

use crate::builder::PublicClientApplicationBuilder;
use crate::client_core::ClientCore;
use crate::flows::acquire::AcquireToken;
use crate::flows::bound_silent::acquire_token_silent_bound;
use crate::flows::by_refresh_token::AcquireTokenByRefreshToken;
use crate::flows::device_code::AcquireTokenWithDeviceCode;
use crate::flows::interactive::{AcquireTokenInteractive, InteractiveOptions, SignInUi};
use crate::flows::silent_params::SilentInput;
use crate::flows::user_silent::acquire_token_silent;
use crate::flows::username_password::AcquireTokenByUsernamePassword;
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
        let Some(account) =
            cache.account_for_client(home_account_id, environment, &self.core.client_id)
        else {
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
            scheme: None,
            app: PhantomData,
            core: &self.core,
            input: SilentInput {
                scopes: scopes.into_iter().map(|s| s.as_ref().to_owned()).collect(),
                account,
                force_refresh: false,
                claims: None,
                correlation_id: None,
                policy: None,
                extra_query: Vec::new(),
                tenant: None,
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
            extra_query: Vec::new(),
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
            extra_query: Vec::new(),
            tenant: None,
            scheme: None,
        }
    }

    /// Redeem a refresh token the app obtained elsewhere (migration from ADAL or another
    /// library) once; the result is cached like a sign-in's (the account appears in
    /// [`accounts`](Self::accounts)) and later calls use
    /// [`acquire_token_silent`](Self::acquire_token_silent). See
    /// [the notes](crate::by_refresh_token).
    ///
    /// ```no_run
    /// # async fn run(app: msal::PublicClientApplication) -> Result<(), msal::Error> {
    /// let r = app.acquire_token_by_refresh_token("<refresh token>", ["User.Read"]).await?;
    /// let account = r.account().cloned();
    /// # Ok(()) }
    /// ```
    pub fn acquire_token_by_refresh_token<I>(
        &self,
        refresh_token: impl Into<String>,
        scopes: I,
    ) -> AcquireTokenByRefreshToken
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        by_refresh_token(
            &self.core,
            refresh_token,
            scopes.into_iter().map(|s| s.as_ref().to_owned()).collect(),
        )
    }

    /// **Deprecated: for test automation only.** Sign a user in with their username and
    /// password (ROPC). No multi-factor authentication, no consent, no federated (ADFS)
    /// accounts: when Entra asks for more than the password (AADSTS50076, 50079, conditional
    /// access) the answer is [`Error::UiRequired`]. The tokens are cached like any sign-in's.
    /// See [the notes](crate::username_password).
    ///
    /// ```no_run
    /// # async fn run(app: msal::PublicClientApplication) -> Result<(), msal::Error> {
    /// let password = std::env::var("TEST_USER_PASSWORD").unwrap_or_default();
    /// let r = app
    ///     .acquire_token_by_username_password("test-user@contoso.example", password, ["User.Read"])
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn acquire_token_by_username_password<I>(
        &self,
        username: impl Into<String>,
        password: impl Into<String>,
        scopes: I,
    ) -> AcquireTokenByUsernamePassword
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        AcquireTokenByUsernamePassword {
            core: Arc::clone(&self.core),
            username: username.into(),
            password: Secret::new(password),
            scopes: scopes.into_iter().map(|s| s.as_ref().to_owned()).collect(),
            claims: None,
            correlation_id: None,
            extra_query: Vec::new(),
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

/// A refresh token redemption for either application type.
pub(crate) fn by_refresh_token(
    core: &Arc<ClientCore>,
    refresh_token: impl Into<String>,
    scopes: Vec<String>,
) -> AcquireTokenByRefreshToken {
    AcquireTokenByRefreshToken {
        core: Arc::clone(core),
        refresh_token: Secret::new(refresh_token),
        scopes,
        claims: None,
        correlation_id: None,
        extra_query: Vec::new(),
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
///
/// `App` is the application that made it: the options are the same, except that only a
/// [`ConfidentialClientApplication`](crate::ConfidentialClientApplication)'s takes
/// [`proof_of_possession`](AcquireTokenSilent::proof_of_possession) (see [`crate::PopRequest`]
/// for why a public client's does not).
#[must_use = "a request does nothing until it is awaited"]
pub struct AcquireTokenSilent<'a, App = PublicClientApplication> {
    pub(crate) core: &'a Arc<ClientCore>,
    pub(crate) input: SilentInput<'a>,
    pub(crate) scheme: Option<crate::pop::SchemeRequest>,
    /// Which application's request this is (it decides the options offered).
    pub(crate) app: PhantomData<fn() -> App>,
}

impl<App> AcquireTokenSilent<'_, App> {
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

    /// Ask for an SSH certificate for a public key instead of an access token (MSAL.NET
    /// `WithSSHCertificateAuthenticationScheme`, MSAL Python `data={"token_type": "ssh-cert"}`):
    /// the result's access token is the certificate, its `token_type` `ssh-cert`. Cached per
    /// key id; redeems the account's refresh token like any silent call.
    pub fn ssh_certificate(mut self, request: crate::SshCertificateRequest) -> Self {
        self.scheme = Some(crate::pop::SchemeRequest::SshCert(request));
        self
    }

    /// A B2C policy (user flow) for this request, e.g. `B2C_1_edit_profile`, instead of the
    /// configured authority's (MSAL.NET `WithB2CAuthority`): a refresh goes to that policy's
    /// token endpoint. B2C accounts are per policy (their home account id carries it), so pass
    /// the account signed in with that policy. Anything but a B2C authority, or a name other
    /// than letters, digits, `_` and `-`, fails with [`Error::InvalidArgument`].
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.input.policy = Some(policy.into());
        self
    }

    /// Extra query parameters for this request's URLs (the token endpoint's, when the cached
    /// token is refreshed), merged over the application's (see
    /// [`extra_query_parameters`](crate::PublicClientApplicationBuilder::extra_query_parameters)).
    /// They do not change which cached token is served. Naming a protocol parameter fails the
    /// request with [`Error::InvalidArgument`] before anything is sent.
    ///
    /// ```no_run
    /// # async fn run(app: msal::PublicClientApplication, account: msal::Account) -> Result<(), msal::Error> {
    /// let r = app
    ///     .acquire_token_silent(["User.Read"], &account)
    ///     .extra_query_parameters([("dc", "ESTS-PUB-WUS2")])
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn extra_query_parameters<I, K, V>(mut self, params: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.input.extra_query = crate::extra_query::collect(params);
        self
    }

    /// Get the token in this tenant (a tenant id or domain name) instead of the account's home
    /// tenant (MSAL.NET's `WithTenantId`): for a guest account, the home refresh token is
    /// redeemed at `https://{host}/{tenant}` and the tokens are cached under that tenant, so
    /// the next call for it is a cache hit. A token of one tenant is never served for another.
    /// `common` and `organizations` mean the home tenant. Entra ID and CIAM authorities only;
    /// anything but a tenant id or domain name is [`Error::InvalidArgument`].
    ///
    /// ```no_run
    /// # async fn f(app: msal::PublicClientApplication, account: msal::Account) -> Result<(), msal::Error> {
    /// let r = app
    ///     .acquire_token_silent(["User.Read"], &account)
    ///     .tenant("fabrikam.onmicrosoft.com")
    ///     .await?;
    /// assert_eq!(r.tenant_id(), Some("fabrikam.onmicrosoft.com"));
    /// # Ok(()) }
    /// ```
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.input.tenant = Some(tenant.into());
        self
    }
}

impl<'a, App> IntoFuture for AcquireTokenSilent<'a, App> {
    type Output = Result<AuthenticationResult, Error>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        match self.scheme {
            None => Box::pin(acquire_token_silent(self.core, self.input)),
            Some(scheme) => Box::pin(acquire_token_silent_bound(self.core, self.input, scheme)),
        }
    }
}

impl<App> std::fmt::Debug for AcquireTokenSilent<'_, App> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquireTokenSilent")
            .field("scopes", &self.input.scopes)
            .field("account", &self.input.account.home_account_id)
            .field("force_refresh", &self.input.force_refresh)
            .field("claims", &self.input.claims.is_some())
            .field("tenant", &self.input.tenant)
            .field("auth_scheme", &self.scheme)
            .finish()
    }
}
