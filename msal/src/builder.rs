//! Building a [`PublicClientApplication`].

use std::sync::Arc;
use std::time::Duration;

use crate::http::throttle::ThrottleTable;
use crate::http::{HttpClient, RetryPolicy};
use msal_cache::CacheStore;
use msal_core::{Authority, Clock, SystemClock};

use crate::cache_access::CacheAccess;
use crate::client_core::ClientCore;
use crate::device_code::DeviceCodeCallback;
use crate::endpoints::EndpointResolver;
use crate::single_flight::SingleFlight;
use crate::{Error, PublicClientApplication};
use msal_interactive::{DeviceCodeInfo, SystemBrowser, WebUi};

/// The transport used when the application gives none: reqwest, unless the `reqwest` feature is
/// off, when the application must bring its own.
#[cfg(feature = "reqwest")]
fn default_http_client() -> Result<Arc<dyn HttpClient>, Error> {
    Ok(Arc::new(crate::http::ReqwestHttpClient::new()))
}

#[cfg(not(feature = "reqwest"))]
fn default_http_client() -> Result<Arc<dyn HttpClient>, Error> {
    Err(Error::InvalidArgument(
        "no HTTP client: the `reqwest` feature is off, so give one with `.http_client(..)`".into(),
    ))
}

/// The authority used when none is given: Entra ID, any work, school or personal account.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com/common";

/// How long a silent call that holds a still-valid cached token waits for its refresh.
pub const DEFAULT_MAX_REFRESH_WAIT: Duration = Duration::from_secs(5);

/// How long before expiry a cached access token stops being served (MSAL's 5 minutes).
pub const DEFAULT_EXPIRY_BUFFER: Duration = Duration::from_secs(300);

pub(crate) enum AuthoritySpec {
    Standard(String),
    Oidc(String),
}

/// Builder for [`PublicClientApplication`]; `build` does no I/O.
pub struct PublicClientApplicationBuilder {
    config: CoreConfig,
    web_ui: Option<Arc<dyn WebUi>>,
    device_code_fallback: Option<DeviceCodeCallback>,
}

impl PublicClientApplicationBuilder {
    pub(crate) fn new(client_id: impl Into<String>) -> Self {
        PublicClientApplicationBuilder {
            config: CoreConfig::new(client_id.into()),
            web_ui: None,
            device_code_fallback: None,
        }
    }

    /// An Entra ID, B2C, CIAM or ADFS authority, e.g.
    /// `https://login.microsoftonline.com/<tenant>` (default: [`DEFAULT_AUTHORITY`]).
    pub fn authority(mut self, authority: &str) -> Self {
        self.config.authority = AuthoritySpec::Standard(authority.to_owned());
        self
    }

    /// Any OpenID Connect provider, by issuer URL; its endpoints come from
    /// `{issuer}/.well-known/openid-configuration`, fetched on the first network request.
    pub fn oidc_authority(mut self, issuer: &str) -> Self {
        self.config.authority = AuthoritySpec::Oidc(issuer.to_owned());
        self
    }

    /// Whether to validate unknown Entra hosts with Microsoft's instance discovery
    /// (default true). Known Entra hosts never need it; cache hits never make a request.
    pub fn instance_discovery(mut self, enabled: bool) -> Self {
        self.config.instance_discovery = enabled;
        self
    }

    /// Where the token cache is kept (default: in this process's memory only).
    pub fn cache(mut self, store: impl CacheStore + 'static) -> Self {
        self.config.cache = Some(Arc::new(store));
        self
    }

    /// The HTTP transport (default: `msal::http::ReqwestHttpClient`; required when the
    /// `reqwest` feature is off).
    pub fn http_client(mut self, client: impl HttpClient + 'static) -> Self {
        self.config.http = Some(Arc::new(client));
        self
    }

    /// The clock every expiry decision reads (default: the system clock). Tests move time with
    /// [`msal_core::ManualClock`].
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.config.clock = Some(Arc::new(clock));
        self
    }

    /// How long before expiry a cached access token is refreshed instead of served
    /// (default 5 minutes).
    pub fn token_expiry_buffer(mut self, buffer: Duration) -> Self {
        self.config.expiry_buffer = buffer;
        self
    }

    /// When a cached access token is inside the expiry buffer but has not expired, how long a
    /// silent call waits for its refresh before returning the cached token (default 5 s). The
    /// refresh goes on in the background either way.
    pub fn max_refresh_wait(mut self, wait: Duration) -> Self {
        self.config.max_refresh_wait = wait;
        self
    }

    /// Retries of token requests (default: one retry after 1 s on 5xx without `Retry-After`
    /// and on timeouts).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.config.retry = retry;
        self
    }

    /// Client capabilities (e.g. `["cp1"]` for continuous access evaluation), sent as the
    /// `xms_cc` claim with every token request.
    pub fn client_capabilities<I>(mut self, capabilities: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.config.client_capabilities = capabilities.into_iter().map(Into::into).collect();
        self
    }

    /// The UI for interactive sign-in (default: the system browser with a loopback redirect
    /// listener on `http://localhost:{random port}`).
    pub fn web_ui(mut self, web_ui: impl WebUi + 'static) -> Self {
        self.web_ui = Some(Arc::new(web_ui));
        self
    }

    /// Let [`acquire_token`](PublicClientApplication::acquire_token) sign in with the device code
    /// flow when no browser can be opened (no display, an SSH session, a container), showing the
    /// code through `callback`.
    pub fn device_code_fallback(
        mut self,
        callback: impl Fn(&DeviceCodeInfo) + Send + Sync + 'static,
    ) -> Self {
        self.device_code_fallback = Some(Arc::new(callback));
        self
    }

    /// Validate the configuration and build the application. No I/O happens here.
    pub fn build(self) -> Result<PublicClientApplication, Error> {
        let custom_web_ui = self.web_ui.is_some();
        let core = self.config.into_core(CoreExtras {
            web_ui: self
                .web_ui
                .unwrap_or_else(|| Arc::new(SystemBrowser::new())),
            custom_web_ui,
            device_code_fallback: self.device_code_fallback,
            credential: None,
            azure_region: None,
        })?;
        Ok(PublicClientApplication {
            core: Arc::new(core),
        })
    }
}

/// The configuration every application type shares.
pub(crate) struct CoreConfig {
    pub client_id: String,
    pub authority: AuthoritySpec,
    pub instance_discovery: bool,
    pub cache: Option<Arc<dyn CacheStore>>,
    pub http: Option<Arc<dyn HttpClient>>,
    pub clock: Option<Arc<dyn Clock>>,
    pub expiry_buffer: Duration,
    pub max_refresh_wait: Duration,
    pub retry: RetryPolicy,
    pub client_capabilities: Vec<String>,
}

/// What differs between public and confidential clients.
pub(crate) struct CoreExtras {
    pub web_ui: Arc<dyn WebUi>,
    pub custom_web_ui: bool,
    pub device_code_fallback: Option<DeviceCodeCallback>,
    pub credential: Option<crate::credential::ClientCredential>,
    pub azure_region: Option<String>,
}

/// How long a confidential client blocks identical requests after a 429/5xx without
/// `Retry-After` (MSAL Python's value): a service retries on behalf of many users, and 60 s
/// would stall all of them.
const CONFIDENTIAL_STATUS_BLOCK: Duration = Duration::from_secs(5);

impl CoreConfig {
    pub(crate) fn new(client_id: String) -> Self {
        CoreConfig {
            client_id,
            authority: AuthoritySpec::Standard(DEFAULT_AUTHORITY.into()),
            instance_discovery: true,
            cache: None,
            http: None,
            clock: None,
            expiry_buffer: DEFAULT_EXPIRY_BUFFER,
            max_refresh_wait: DEFAULT_MAX_REFRESH_WAIT,
            retry: RetryPolicy::default(),
            client_capabilities: Vec::new(),
        }
    }

    /// Validate and assemble. No I/O.
    pub(crate) fn into_core(self, extras: CoreExtras) -> Result<ClientCore, Error> {
        if self.client_id.trim().is_empty() {
            return Err(Error::InvalidArgument("client id is empty".into()));
        }
        let authority = match &self.authority {
            AuthoritySpec::Standard(a) => Authority::parse(a)?,
            AuthoritySpec::Oidc(a) => Authority::oidc(a)?,
        };
        let http: Arc<dyn HttpClient> = match self.http {
            Some(h) => h,
            None => default_http_client()?,
        };
        let confidential = extras.credential.is_some();
        Ok(ClientCore {
            client_id: self.client_id.trim().to_owned(),
            authority: Arc::new(authority),
            tenant_authorities: Default::default(),
            http,
            cache: CacheAccess::new(self.cache, confidential),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            expiry_buffer: self.expiry_buffer,
            max_refresh_wait: self.max_refresh_wait,
            retry: self.retry,
            client_capabilities: self.client_capabilities,
            endpoints: EndpointResolver::new(self.instance_discovery),
            flights: Arc::new(SingleFlight::new()),
            throttle: ThrottleTable::new(),
            web_ui: extras.web_ui,
            custom_web_ui: extras.custom_web_ui,
            device_code_fallback: extras.device_code_fallback,
            prompts: Arc::new(SingleFlight::new()),
            credential: extras.credential,
            azure_region: extras.azure_region,
            status_block: if confidential {
                CONFIDENTIAL_STATUS_BLOCK
            } else {
                crate::http::throttle::HTTP_STATUS_BLOCK
            },
        })
    }
}

impl std::fmt::Debug for PublicClientApplicationBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicClientApplicationBuilder")
            .field("client_id", &self.config.client_id)
            .field("instance_discovery", &self.config.instance_discovery)
            .finish_non_exhaustive()
    }
}
