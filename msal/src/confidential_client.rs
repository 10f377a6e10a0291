//! [`ConfidentialClientApplication`]: daemons, web apps and web APIs, which hold a credential
//! of their own.

use std::future::Future;
use std::sync::Arc;

use msal_cache::{AccountRemoval, Partition};
use msal_core::{Account, Secret};

use crate::builder::CoreConfig;
use crate::client_core::{ClientCore, ClientKind};
use crate::credential::{AssertionError, AssertionRequest, ClientCertificate, ClientCredential};
use crate::flows::app_token::AcquireTokenForClient;
use crate::flows::auth_code::{
    AcquireTokenByAuthorizationCode, AuthorizationCodeFlow, AuthorizationRequestBuilder,
};
use crate::flows::by_refresh_token::AcquireTokenByRefreshToken;
use crate::flows::long_running_obo::{
    AcquireTokenInLongRunningProcess, InitiateLongRunningProcess,
};
use crate::flows::on_behalf_of::AcquireTokenOnBehalfOf;
use crate::flows::silent_params::SilentInput;
use crate::public_client::AcquireTokenSilent;
use crate::region::{AzureRegion, RegionDetector};
use crate::request::RequestOptions;
use crate::Error;

/// The region name that asks for auto-detection, as in MSAL.NET
/// (`ConfidentialClientApplication.AttemptRegionDiscovery`): `.azure_region(AZURE_REGION_AUTO_DETECT)`
/// is [`azure_region_auto_detect`](ConfidentialClientApplicationBuilder::azure_region_auto_detect).
pub const AZURE_REGION_AUTO_DETECT: &str = "TryAutoDetect";

/// An application with a credential of its own (a secret, a certificate, or a federated
/// assertion): a daemon acting as itself, a web app signing users in, a web API calling other
/// APIs on behalf of its callers.
///
/// ```no_run
/// # async fn run() -> Result<(), msal::Error> {
/// use msal::ConfidentialClientApplication;
///
/// let app = ConfidentialClientApplication::builder("9f1c3e2a-1111-4a2b-9c3d-0123456789ab")
///     .authority("https://login.microsoftonline.com/contoso.onmicrosoft.com")
///     .client_secret(std::env::var("CLIENT_SECRET").unwrap_or_default())
///     .build()?;
///
/// // Cache first: only the first call (and one shortly before expiry) reaches Entra ID.
/// let token = app
///     .acquire_token_for_client(["https://graph.microsoft.com/.default"])
///     .await?;
/// println!("app token expires at {:?}", token.expires_on());
/// # Ok(())
/// # }
/// ```
///
/// The cache is partitioned as MSAL.NET partitions it: app tokens per client and tenant, user
/// tokens per home account, on-behalf-of tokens per incoming assertion. With a partitioned
/// store such as `RedisCache` (feature `redis` of `msal-cache`) a web farm shares them and each
/// request moves only its own partition.
///
/// Cheap to clone and `Send + Sync`: build it once and share it.
#[derive(Clone)]
pub struct ConfidentialClientApplication {
    core: Arc<ClientCore>,
}

impl ConfidentialClientApplication {
    /// Start building an application registered with `client_id`.
    pub fn builder(client_id: impl Into<String>) -> ConfidentialClientApplicationBuilder {
        ConfidentialClientApplicationBuilder {
            config: CoreConfig::new(client_id.into()),
            credential: None,
            azure_region: None,
            region_environment: None,
        }
    }

    /// The application (client) id.
    pub fn client_id(&self) -> &str {
        &self.core.client_id
    }

    /// The configured authority.
    pub fn authority(&self) -> &msal_core::Authority {
        &self.core.authority
    }

    /// A token for the app itself (the client credentials grant), e.g. for
    /// `https://graph.microsoft.com/.default`. Served from the app token cache of this client
    /// and tenant while it is valid for more than the expiry buffer; refreshed in the
    /// background once the identity provider's `refresh_in` has passed.
    pub fn acquire_token_for_client<I>(&self, scopes: I) -> AcquireTokenForClient
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        AcquireTokenForClient {
            core: Arc::clone(&self.core),
            scopes: collect(scopes),
            options: RequestOptions::default(),
        }
    }

    /// A token for a downstream API, on behalf of the user whose access token this API was
    /// called with (`user_assertion`). Cached under a hash of the assertion; see
    /// [the on-behalf-of notes](crate::on_behalf_of).
    pub fn acquire_token_on_behalf_of<I>(
        &self,
        user_assertion: impl Into<String>,
        scopes: I,
    ) -> AcquireTokenOnBehalfOf
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        AcquireTokenOnBehalfOf {
            core: Arc::clone(&self.core),
            user_assertion: Secret::new(user_assertion),
            scopes: collect(scopes),
            options: RequestOptions::default(),
        }
    }

    /// Start a long-running process on behalf of the caller whose token this API was called
    /// with: the on-behalf-of exchange, its tokens cached under a session key returned with the
    /// result (the one set with
    /// [`session_key`](crate::long_running_obo::InitiateLongRunningProcess::session_key), else
    /// the token's hash). See [the long-running notes](crate::long_running_obo).
    pub fn initiate_long_running_process_in_web_api<I>(
        &self,
        user_assertion: impl Into<String>,
        scopes: I,
    ) -> InitiateLongRunningProcess
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        InitiateLongRunningProcess {
            core: Arc::clone(&self.core),
            user_assertion: Secret::new(user_assertion),
            session_key: None,
            scopes: collect(scopes),
            options: RequestOptions::default(),
        }
    }

    /// A token for a long-running process by its session key alone: the cached one while it
    /// is fresh, else the cached refresh token redeemed.
    /// [`Error::LongRunningSessionNotFound`] when nothing is cached for the key.
    pub fn acquire_token_in_long_running_process<I>(
        &self,
        session_key: impl Into<String>,
        scopes: I,
    ) -> AcquireTokenInLongRunningProcess
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        AcquireTokenInLongRunningProcess {
            core: Arc::clone(&self.core),
            session_key: session_key.into(),
            scopes: collect(scopes),
            options: RequestOptions::default(),
        }
    }

    /// Redeem a refresh token the app obtained elsewhere (migration from ADAL or another
    /// library) once; the result is cached like a sign-in's, and the user's tokens are then
    /// served by [`acquire_token_silent`](Self::acquire_token_silent). See
    /// [the notes](crate::by_refresh_token).
    pub fn acquire_token_by_refresh_token<I>(
        &self,
        refresh_token: impl Into<String>,
        scopes: I,
    ) -> AcquireTokenByRefreshToken
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        crate::public_client::by_refresh_token(&self.core, refresh_token, collect(scopes))
    }

    /// Start a web app sign-in: the authorization URL to redirect the browser to, with fresh
    /// `state`, `nonce` and PKCE (S256). See [the web app notes](crate::auth_code).
    pub fn authorization_request<I>(
        &self,
        scopes: I,
        redirect_uri: impl Into<String>,
    ) -> AuthorizationRequestBuilder
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        AuthorizationRequestBuilder {
            core: Arc::clone(&self.core),
            scopes: collect(scopes),
            redirect_uri: redirect_uri.into(),
            prompt: None,
            login_hint: None,
            domain_hint: None,
            claims: None,
            correlation_id: None,
            policy: None,
            extra_query: Vec::new(),
        }
    }

    /// Finish a web app sign-in: check the redirect's `state` against `flow` (constant time),
    /// then redeem the code with the flow's PKCE verifier and check the ID token's `nonce`. The
    /// tokens are cached in the user's partition.
    ///
    /// `redirect_query` is the query string of the request the browser was redirected with.
    pub fn acquire_token_by_auth_code_flow(
        &self,
        flow: &AuthorizationCodeFlow,
        redirect_query: &str,
    ) -> Result<AcquireTokenByAuthorizationCode, Error> {
        let code = flow.validated_code(redirect_query)?;
        Ok(AcquireTokenByAuthorizationCode::from_flow(
            Arc::clone(&self.core),
            flow,
            code,
        ))
    }

    /// Redeem an authorization code the app received itself, with the PKCE verifier of its
    /// authorization request (`None` only for requests made without PKCE). Set
    /// [`redirect_uri`](AcquireTokenByAuthorizationCode::redirect_uri) to the request's.
    pub fn acquire_token_by_authorization_code<I>(
        &self,
        code: impl Into<String>,
        scopes: I,
        pkce_verifier: Option<&str>,
    ) -> AcquireTokenByAuthorizationCode
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        AcquireTokenByAuthorizationCode {
            core: Arc::clone(&self.core),
            code: Secret::new(code),
            scopes: collect(scopes),
            pkce_verifier: pkce_verifier.map(Secret::new),
            redirect_uri: None,
            nonce: None,
            claims: None,
            correlation_id: None,
            policy: None,
            extra_query: Vec::new(),
            scheme: None,
        }
    }

    /// A token for a signed-in user of a web app, without interaction: from the user's cache
    /// partition, else by redeeming their refresh token (with the app's credential). Fails with
    /// [`Error::UiRequired`] when the user must sign in again. Takes
    /// [`proof_of_possession`](AcquireTokenSilent::proof_of_possession) and
    /// [`ssh_certificate`](AcquireTokenSilent::ssh_certificate): a refresh then asks for that
    /// token type too.
    pub fn acquire_token_silent<'a, I>(
        &'a self,
        scopes: I,
        account: &'a Account,
    ) -> AcquireTokenSilent<'a, ConfidentialClientApplication>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        AcquireTokenSilent {
            scheme: None,
            app: std::marker::PhantomData,
            core: &self.core,
            input: SilentInput {
                scopes: collect(scopes),
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

    /// The signed-in user with this home account id (what a web app keeps in its session), from
    /// that user's cache partition. A confidential client has no `accounts()`: with a
    /// partitioned cache, listing every user would mean reading every partition.
    pub async fn account(&self, home_account_id: &str) -> Result<Option<Account>, Error> {
        let cache = self
            .core
            .cache
            .snapshot(Partition::Account(home_account_id))
            .await?;
        Ok(cache.account_for_client(
            home_account_id,
            self.core.authority.environment(),
            &self.core.client_id,
        ))
    }

    /// Sign a user out of this web app: remove their refresh token, access and ID tokens for
    /// this app, and their account entry once no app holds a refresh token for it.
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
            .write(Partition::Account(&account.home_account_id), |c| {
                c.remove_account(&removal)
            })
            .await?;
        Ok(())
    }
}

// Only a confidential client's silent request: MSAL allows proof of possession on a public
// client only through a broker, which msal-rs has not (see `crate::pop`).
crate::pop::pop_setter!(
    AcquireTokenSilent<'_, ConfidentialClientApplication>,
    "app: msal::ConfidentialClientApplication, account: msal::Account",
    "app.acquire_token_silent([\"https://resource.example/items.read\"], &account)",
    scheme
);

fn collect<I>(scopes: I) -> Vec<String>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    scopes.into_iter().map(|s| s.as_ref().to_owned()).collect()
}

impl std::fmt::Debug for ConfidentialClientApplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfidentialClientApplication")
            .field("client_id", &self.core.client_id)
            .field("authority", &self.core.authority)
            .field("credential", &self.core.credential())
            .finish_non_exhaustive()
    }
}

crate::builder_setters::core_setters!(ConfidentialClientApplicationBuilder);

/// Builder for [`ConfidentialClientApplication`]; `build` does no I/O. A credential
/// ([`client_secret`](Self::client_secret), [`certificate`](Self::certificate) or
/// [`client_assertion`](Self::client_assertion)) is required.
pub struct ConfidentialClientApplicationBuilder {
    config: CoreConfig,
    pub(crate) credential: Option<ClientCredential>,
    azure_region: Option<String>,
    /// The variables region auto-detection reads instead of the process environment.
    region_environment: Option<std::collections::HashMap<String, String>>,
}

impl ConfidentialClientApplicationBuilder {
    /// Authenticate with a client secret. It is kept in memory that is wiped when the
    /// application is dropped, and never appears in logs or `Debug` output.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.credential = Some(ClientCredential::Secret(Arc::new(Secret::new(secret))));
        self
    }

    /// Authenticate with a certificate: every request carries a client assertion JWT signed
    /// with its key (see [`ClientCertificate`]).
    pub fn certificate(mut self, certificate: ClientCertificate) -> Self {
        self.credential = Some(ClientCredential::Certificate(certificate));
        self
    }

    /// Authenticate with an assertion the app obtains itself, asked for on every token request:
    /// workload identity federation (a Kubernetes service account token, a GitHub Actions OIDC
    /// token, a managed identity's token...). The callback should cache what it can; it is
    /// given the client id and the token endpoint (the assertion's audience).
    pub fn client_assertion<F, Fut>(mut self, callback: F) -> Self
    where
        F: Fn(AssertionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, AssertionError>> + Send + 'static,
    {
        self.credential = Some(ClientCredential::assertion_callback(callback));
        self
    }

    /// Send client-credential requests to Entra's regional endpoint in this Azure region
    /// (ESTS-R, e.g. `westus2`): `{region}.login.microsoft.com` for the public cloud. Opt-in,
    /// for services running in that region. Tokens are cached under the configured authority's
    /// host as usual; refresh tokens and other grants keep the global endpoint.
    pub fn azure_region(mut self, region: impl Into<String>) -> Self {
        self.azure_region = Some(region.into());
        self
    }

    /// Detect the Azure region this service runs in and send client-credential requests to
    /// its regional endpoint (MSAL.NET `WithAzureRegion(TryAutoDetect)`; also
    /// `.azure_region(`[`AZURE_REGION_AUTO_DETECT`]`)`): from `REGION_NAME`, else from the
    /// Azure Instance Metadata Service with a 2-second bound, once per process, on the first
    /// app-token request that needs the network. When no region is found, requests go to the
    /// global endpoint and a `warn` event says so. See [`crate::region`].
    pub fn azure_region_auto_detect(self) -> Self {
        self.azure_region(AZURE_REGION_AUTO_DETECT)
    }

    /// The variables region auto-detection reads (`REGION_NAME`,
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST` for the IMDS host) instead of the process
    /// environment: for tests, and apps that know where they run.
    pub fn region_environment<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.region_environment = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Validate the configuration and build the application. No I/O happens here.
    pub fn build(self) -> Result<ConfidentialClientApplication, Error> {
        let credential = self.credential.ok_or_else(|| {
            Error::InvalidArgument(
                "a confidential client needs a credential: client_secret, certificate or client_assertion".into(),
            )
        })?;
        if let ClientCredential::Secret(secret) = &credential {
            if secret.expose_secret().trim().is_empty() {
                return Err(Error::InvalidArgument("the client secret is empty".into()));
            }
        }
        let azure_region = match self.azure_region.map(|r| r.trim().to_ascii_lowercase()) {
            Some(r) if r.is_empty() => None,
            Some(r) if r.eq_ignore_ascii_case(AZURE_REGION_AUTO_DETECT) => {
                Some(AzureRegion::AutoDetect(Arc::new(RegionDetector::new(
                    self.region_environment.as_ref(),
                ))))
            }
            Some(r) if r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {
                Some(AzureRegion::Fixed(r))
            }
            Some(r) => {
                return Err(Error::InvalidArgument(format!(
                    "{r:?} is not an Azure region name"
                )))
            }
            None => None,
        };
        let core = self.config.into_core(ClientKind::Confidential {
            credential,
            azure_region,
        })?;
        Ok(ConfidentialClientApplication {
            core: Arc::new(core),
        })
    }
}

impl std::fmt::Debug for ConfidentialClientApplicationBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfidentialClientApplicationBuilder")
            .field("client_id", &self.config.client_id)
            .field("credential", &self.credential)
            .field("azure_region", &self.azure_region)
            .finish_non_exhaustive()
    }
}
