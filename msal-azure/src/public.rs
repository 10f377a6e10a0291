//! [`PublicClientCredential`]: a signed-in user, through a [`PublicClientApplication`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::http::policies::Policy;
use msal::{Account, AuthenticationResult, DeviceCodeInfo, PublicClientApplication};

use crate::challenge::{ClaimsChallengePolicy, PendingClaims};
use crate::context::RequestSettings;
use crate::token::{access_token, check_scopes, credential_error, msal_error, CredentialError};

/// Builds the app for a tenant other than the credential's own (see
/// [`PublicClientCredentialBuilder::tenant_apps`]).
pub type TenantAppFactory =
    Arc<dyn Fn(&str) -> Result<PublicClientApplication, msal::Error> + Send + Sync>;

/// What the credential does when no token can be had silently (no account in the cache, or its
/// refresh token no longer works).
#[derive(Clone)]
#[non_exhaustive]
pub enum Interaction {
    /// Fail with a [`CredentialError::SignInRequired`] telling the user to sign in (for
    /// services, scripts and CLIs with a separate `login` command).
    Fail,
    /// Sign in with the device code flow, showing the code through the callback.
    DeviceCode(msal::DeviceCodeCallback),
    /// Sign in interactively with the app's web UI (the system browser by default), as
    /// [`PublicClientApplication::acquire_token`] does, including its device code fallback
    /// where no browser can be opened.
    Interactive,
}

impl Interaction {
    /// [`Interaction::DeviceCode`] with this callback, e.g.
    /// `Interaction::device_code(|info| eprintln!("open {} and enter {}", info.verification_uri, info.user_code))`.
    pub fn device_code(callback: impl Fn(&DeviceCodeInfo) + Send + Sync + 'static) -> Self {
        Interaction::DeviceCode(Arc::new(callback))
    }

    fn name(&self) -> &'static str {
        match self {
            Interaction::Fail => "Fail",
            Interaction::DeviceCode(_) => "DeviceCode",
            Interaction::Interactive => "Interactive",
        }
    }
}

impl std::fmt::Debug for Interaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The default end of a [`CredentialError::SignInRequired`] message.
pub const DEFAULT_SIGN_IN_HINT: &str =
    "sign in first (interactively or with a device code), then try again";

/// Builder for [`PublicClientCredential`].
pub struct PublicClientCredentialBuilder {
    app: PublicClientApplication,
    interaction: Interaction,
    login_hint: Option<String>,
    tenant_apps: Option<TenantAppFactory>,
    expiry_margin: Duration,
    sign_in_hint: String,
}

impl PublicClientCredentialBuilder {
    /// What to do when a user must sign in (default [`Interaction::Fail`]).
    pub fn interaction(mut self, interaction: Interaction) -> Self {
        self.interaction = interaction;
        self
    }

    /// The user to get tokens for, by username, when the cache holds several accounts; also
    /// pre-filled in an interactive sign-in. Default: the account this credential signed in
    /// last, else the only account in the cache.
    pub fn login_hint(mut self, username: impl Into<String>) -> Self {
        self.login_hint = Some(username.into());
        self
    }

    /// Build a separate app for each other tenant a request names (a [`Tenant`](crate::Tenant)
    /// in the request's context) with `factory`, called once per tenant; the apps are kept.
    ///
    /// Not needed any more: without it the credential's own app gets the token in the named
    /// tenant with msal-rs's per-request tenant (`.tenant(..)`), redeeming the user's refresh
    /// token there and caching the token under that tenant. Kept for apps that configure each
    /// tenant's app differently.
    pub fn tenant_apps(
        mut self,
        factory: impl Fn(&str) -> Result<PublicClientApplication, msal::Error> + Send + Sync + 'static,
    ) -> Self {
        self.tenant_apps = Some(Arc::new(factory));
        self
    }

    /// How long before its real expiry the Azure SDK is told a token expires (default
    /// [`msal::DEFAULT_EXPIRY_BUFFER`], 5 minutes; match the app's `token_expiry_buffer` if you
    /// changed it). See the crate docs on expiry.
    pub fn expiry_margin(mut self, margin: Duration) -> Self {
        self.expiry_margin = margin;
        self
    }

    /// What a sign-in-required error tells the user to do (default [`DEFAULT_SIGN_IN_HINT`]),
    /// e.g. "run `mytool login`".
    pub fn sign_in_hint(mut self, hint: impl Into<String>) -> Self {
        self.sign_in_hint = hint.into();
        self
    }

    /// The credential.
    pub fn build(self) -> PublicClientCredential {
        PublicClientCredential {
            inner: Arc::new(Inner {
                app: self.app,
                interaction: self.interaction,
                login_hint: self.login_hint,
                tenant_apps: self.tenant_apps,
                apps: Mutex::default(),
                expiry_margin: self.expiry_margin,
                sign_in_hint: self.sign_in_hint,
                signed_in: Mutex::default(),
                pending: Arc::default(),
                prompt: tokio::sync::Mutex::new(()),
            }),
        }
    }
}

impl std::fmt::Debug for PublicClientCredentialBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicClientCredentialBuilder")
            .field("app", &self.app)
            .field("interaction", &self.interaction)
            .finish_non_exhaustive()
    }
}

/// An Azure SDK [`TokenCredential`] for a user, through a [`PublicClientApplication`]:
/// silent-first (a cached token, else the cached refresh token), then the configured
/// [`Interaction`].
///
/// Cheap to clone; clones share the app, the remembered account and the prompt lock, so
/// concurrent requests that all need the user get one sign-in. `Debug` shows no secret.
#[derive(Clone)]
pub struct PublicClientCredential {
    inner: Arc<Inner>,
}

struct Inner {
    app: PublicClientApplication,
    interaction: Interaction,
    login_hint: Option<String>,
    tenant_apps: Option<TenantAppFactory>,
    apps: Mutex<HashMap<String, PublicClientApplication>>,
    expiry_margin: Duration,
    sign_in_hint: String,
    /// The home account id of the account last used or signed in.
    signed_in: Mutex<Option<String>>,
    pending: Arc<PendingClaims>,
    /// Held while a user is prompted, so concurrent requests share one sign-in.
    prompt: tokio::sync::Mutex<()>,
}

/// Why no token could be had silently.
enum Silent {
    Token(AuthenticationResult),
    NeedsUser {
        why: String,
        cause: Option<msal::Error>,
        // Boxed: an account is large next to a result (one reference count).
        account: Option<Box<Account>>,
    },
}

impl PublicClientCredential {
    /// A credential for `app` doing `interaction` when a user must sign in.
    pub fn new(app: PublicClientApplication, interaction: Interaction) -> Self {
        Self::builder(app).interaction(interaction).build()
    }

    /// Start building a credential for `app`.
    pub fn builder(app: PublicClientApplication) -> PublicClientCredentialBuilder {
        PublicClientCredentialBuilder {
            app,
            interaction: Interaction::Fail,
            login_hint: None,
            tenant_apps: None,
            expiry_margin: msal::DEFAULT_EXPIRY_BUFFER,
            sign_in_hint: DEFAULT_SIGN_IN_HINT.into(),
        }
    }

    /// The app for the credential's own tenant.
    pub fn app(&self) -> &PublicClientApplication {
        &self.inner.app
    }

    /// A per-try policy that hands CAE claims challenges seen by an Azure SDK client to this
    /// credential; add it to the client's `ClientOptions::per_try_policies` (see
    /// [`ClaimsChallengePolicy`]).
    pub fn claims_challenge_policy(&self) -> Arc<dyn Policy> {
        Arc::new(ClaimsChallengePolicy::new(Arc::clone(&self.inner.pending)))
    }

    /// Get a token as [`get_token`](TokenCredential::get_token) does, with msal-rs's full
    /// result (real expiry, account, source).
    pub async fn acquire(
        &self,
        scopes: &[&str],
        options: Option<&TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AuthenticationResult> {
        check_scopes(scopes)?;
        let settings = RequestSettings::from_options(options);
        let pending = self.inner.pending.take();
        let claims = settings.claims.or(pending);
        let (app, tenant) = self.app_for(settings.tenant.as_deref())?;
        let tenant = tenant.as_deref();
        let (why, cause, account) =
            match self.silent(&app, tenant, scopes, claims.as_deref()).await? {
                Silent::Token(result) => return Ok(result),
                Silent::NeedsUser {
                    why,
                    cause,
                    account,
                } => (why, cause, account.map(|a| *a)),
            };
        if let Interaction::Fail = self.inner.interaction {
            tracing::info!("no token without a sign-in, and this credential may not prompt");
            return Err(credential_error(CredentialError::SignInRequired {
                message: format!("{why}; {}", self.inner.sign_in_hint),
                source: cause,
            }));
        }

        let _prompt = self.inner.prompt.lock().await;
        if claims.is_none() {
            // Someone may have signed in while this request waited for the prompt.
            if let Silent::Token(result) = self.silent(&app, tenant, scopes, None).await? {
                return Ok(result);
            }
        }
        let login_hint = account
            .as_ref()
            .map(|a| a.username.clone())
            .filter(|u| !u.is_empty())
            .or_else(|| self.inner.login_hint.clone());
        let result = match &self.inner.interaction {
            Interaction::DeviceCode(callback) => {
                tracing::info!("signing in with a device code");
                let callback = Arc::clone(callback);
                let mut request =
                    app.acquire_token_with_device_code(scopes, move |info| callback(info));
                if let Some(claims) = &claims {
                    request = request.claims(claims);
                }
                if let Some(tenant) = tenant {
                    request = request.tenant(tenant);
                }
                request.await
            }
            // `acquire_token` signs in at the app's own tenant: a named tenant signs in there.
            Interaction::Interactive
                if claims.is_some() || account.is_none() || tenant.is_some() =>
            {
                tracing::info!("signing in interactively");
                let mut request = app.acquire_token_interactive(scopes);
                if let Some(claims) = &claims {
                    request = request.claims(claims);
                }
                if let Some(tenant) = tenant {
                    request = request.tenant(tenant);
                }
                if let Some(hint) = &login_hint {
                    request = request.login_hint(hint);
                }
                request.await
            }
            Interaction::Interactive => {
                tracing::info!("signing in interactively");
                let mut request = app.acquire_token(scopes);
                if let Some(account) = &account {
                    request = request.account(account);
                }
                request.await
            }
            Interaction::Fail => unreachable!("handled above"),
        }
        .map_err(msal_error)?;
        self.remember(result.account());
        Ok(result)
    }

    /// The app for a request's tenant, and the tenant to name on its requests (`None`: the
    /// app's own).
    fn app_for(
        &self,
        tenant: Option<&str>,
    ) -> azure_core::Result<(PublicClientApplication, Option<String>)> {
        let own = &self.inner.app;
        let Some(tenant) = tenant else {
            return Ok((own.clone(), None));
        };
        if own
            .authority()
            .tenant()
            .is_some_and(|t| t.eq_ignore_ascii_case(tenant))
        {
            return Ok((own.clone(), None));
        }
        let Some(factory) = &self.inner.tenant_apps else {
            // msal-rs's per-request tenant: one app, the user's refresh token redeemed in the
            // named tenant. Only Entra ID and CIAM authorities have tenants to switch between.
            if !matches!(
                own.authority().kind(),
                msal::AuthorityKind::Aad | msal::AuthorityKind::Ciam
            ) {
                return Err(credential_error(CredentialError::TenantNotAllowed {
                    tenant: tenant.to_owned(),
                    reason: format!(
                        "this credential's app signs in at {}, which has no other tenants",
                        own.authority().canonical_url()
                    ),
                }));
            }
            return Ok((own.clone(), Some(tenant.to_owned())));
        };
        let mut apps = self.inner.apps.lock().unwrap_or_else(|e| e.into_inner());
        let key = tenant.to_ascii_lowercase();
        if let Some(app) = apps.get(&key) {
            return Ok((app.clone(), None));
        }
        let app = factory(tenant).map_err(msal_error)?;
        tracing::debug!(tenant, "built an app for another tenant");
        apps.insert(key, app.clone());
        Ok((app, None))
    }

    async fn silent(
        &self,
        app: &PublicClientApplication,
        tenant: Option<&str>,
        scopes: &[&str],
        claims: Option<&str>,
    ) -> azure_core::Result<Silent> {
        let accounts = app.accounts().await.map_err(msal_error)?;
        let remembered = self
            .inner
            .signed_in
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let account = remembered
            .and_then(|id| {
                accounts
                    .iter()
                    .find(|a| a.home_account_id.eq_ignore_ascii_case(&id))
            })
            .or_else(|| match &self.inner.login_hint {
                Some(hint) => accounts
                    .iter()
                    .find(|a| a.username.eq_ignore_ascii_case(hint)),
                None if accounts.len() == 1 => accounts.first(),
                None => None,
            })
            .cloned();
        let Some(account) = account else {
            let why = match (&self.inner.login_hint, accounts.len()) {
                (Some(hint), _) => format!("no account {hint} in the token cache"),
                (None, 0) => "no signed-in account in the token cache".to_owned(),
                (None, n) => {
                    format!("{n} accounts in the token cache and no login hint to choose one")
                }
            };
            return Ok(Silent::NeedsUser {
                why,
                cause: None,
                account: None,
            });
        };
        let mut request = app.acquire_token_silent(scopes, &account);
        if let Some(claims) = claims {
            request = request.claims(claims);
        }
        if let Some(tenant) = tenant {
            request = request.tenant(tenant);
        }
        match request.await {
            Ok(result) => {
                self.remember(result.account().or(Some(&account)));
                Ok(Silent::Token(result))
            }
            Err(e) if e.is_ui_required() => Ok(Silent::NeedsUser {
                why: format!("the sign-in of {} must be renewed", account.username),
                cause: Some(e),
                account: Some(Box::new(account)),
            }),
            Err(e) => Err(msal_error(e)),
        }
    }

    fn remember(&self, account: Option<&Account>) {
        if let Some(account) = account.filter(|a| !a.home_account_id.is_empty()) {
            *self
                .inner
                .signed_in
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(account.home_account_id.clone());
        }
    }
}

#[async_trait]
impl TokenCredential for PublicClientCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let result = self.acquire(scopes, options.as_ref()).await?;
        Ok(access_token(result, self.inner.expiry_margin))
    }
}

impl std::fmt::Debug for PublicClientCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicClientCredential")
            .field("app", &self.inner.app)
            .field("interaction", &self.inner.interaction)
            .field("tenant_apps", &self.inner.tenant_apps.is_some())
            .field("expiry_margin", &self.inner.expiry_margin)
            .finish_non_exhaustive()
    }
}
