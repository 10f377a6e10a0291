//! Building a [`PublicClientApplication`].

use std::sync::Arc;
use std::time::Duration;

use msal_cache::CacheStore;
use msal_core::{Authority, Clock, SystemClock};
use msal_http::{HttpClient, RetryPolicy, ThrottleTable};

use crate::cache_access::CacheAccess;
use crate::client_core::ClientCore;
use crate::device_code::DeviceCodeCallback;
use crate::endpoints::EndpointResolver;
use crate::single_flight::SingleFlight;
use crate::{Error, PublicClientApplication};
use msal_interactive::{DeviceCodeInfo, SystemBrowser, WebUi};

/// The authority used when none is given: Entra ID, any work, school or personal account.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com/common";

/// How long a silent call that holds a still-valid cached token waits for its refresh.
pub const DEFAULT_MAX_REFRESH_WAIT: Duration = Duration::from_secs(5);

/// How long before expiry a cached access token stops being served (MSAL's 5 minutes).
pub const DEFAULT_EXPIRY_BUFFER: Duration = Duration::from_secs(300);

enum AuthoritySpec {
    Standard(String),
    Oidc(String),
}

/// Builder for [`PublicClientApplication`]; `build` does no I/O.
pub struct PublicClientApplicationBuilder {
    client_id: String,
    authority: AuthoritySpec,
    instance_discovery: bool,
    cache: Option<Arc<dyn CacheStore>>,
    http: Option<Arc<dyn HttpClient>>,
    clock: Option<Arc<dyn Clock>>,
    expiry_buffer: Duration,
    max_refresh_wait: Duration,
    retry: RetryPolicy,
    client_capabilities: Vec<String>,
    web_ui: Option<Arc<dyn WebUi>>,
    device_code_fallback: Option<DeviceCodeCallback>,
}

impl PublicClientApplicationBuilder {
    pub(crate) fn new(client_id: impl Into<String>) -> Self {
        PublicClientApplicationBuilder {
            client_id: client_id.into(),
            authority: AuthoritySpec::Standard(DEFAULT_AUTHORITY.into()),
            instance_discovery: true,
            cache: None,
            http: None,
            clock: None,
            expiry_buffer: DEFAULT_EXPIRY_BUFFER,
            max_refresh_wait: DEFAULT_MAX_REFRESH_WAIT,
            retry: RetryPolicy::default(),
            client_capabilities: Vec::new(),
            web_ui: None,
            device_code_fallback: None,
        }
    }

    /// An Entra ID, B2C, CIAM or ADFS authority, e.g.
    /// `https://login.microsoftonline.com/<tenant>` (default: [`DEFAULT_AUTHORITY`]).
    pub fn authority(mut self, authority: &str) -> Self {
        self.authority = AuthoritySpec::Standard(authority.to_owned());
        self
    }

    /// Any OpenID Connect provider, by issuer URL; its endpoints come from
    /// `{issuer}/.well-known/openid-configuration`, fetched on the first network request.
    pub fn oidc_authority(mut self, issuer: &str) -> Self {
        self.authority = AuthoritySpec::Oidc(issuer.to_owned());
        self
    }

    /// Whether to validate unknown Entra hosts with Microsoft's instance discovery
    /// (default true). Known Entra hosts never need it; cache hits never make a request.
    pub fn instance_discovery(mut self, enabled: bool) -> Self {
        self.instance_discovery = enabled;
        self
    }

    /// Where the token cache is kept (default: in this process's memory only).
    pub fn cache(mut self, store: impl CacheStore + 'static) -> Self {
        self.cache = Some(Arc::new(store));
        self
    }

    /// The HTTP transport (default: [`msal_http::ReqwestHttpClient`]).
    pub fn http_client(mut self, client: impl HttpClient + 'static) -> Self {
        self.http = Some(Arc::new(client));
        self
    }

    /// The clock every expiry decision reads (default: the system clock). Tests move time with
    /// [`msal_core::ManualClock`].
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// How long before expiry a cached access token is refreshed instead of served
    /// (default 5 minutes).
    pub fn token_expiry_buffer(mut self, buffer: Duration) -> Self {
        self.expiry_buffer = buffer;
        self
    }

    /// When a cached access token is inside the expiry buffer but has not expired, how long a
    /// silent call waits for its refresh before returning the cached token (default 5 s). The
    /// refresh goes on in the background either way.
    pub fn max_refresh_wait(mut self, wait: Duration) -> Self {
        self.max_refresh_wait = wait;
        self
    }

    /// Retries of token requests (default: one retry after 1 s on 5xx without `Retry-After`
    /// and on timeouts).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Client capabilities (e.g. `["cp1"]` for continuous access evaluation), sent as the
    /// `xms_cc` claim with every token request.
    pub fn client_capabilities<I>(mut self, capabilities: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.client_capabilities = capabilities.into_iter().map(Into::into).collect();
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
        if self.client_id.trim().is_empty() {
            return Err(Error::InvalidArgument("client id is empty".into()));
        }
        let authority = match &self.authority {
            AuthoritySpec::Standard(a) => Authority::parse(a)?,
            AuthoritySpec::Oidc(a) => Authority::oidc(a)?,
        };
        let http: Arc<dyn HttpClient> = match self.http {
            Some(h) => h,
            None => Arc::new(msal_http::ReqwestHttpClient::new()),
        };
        let core = ClientCore {
            client_id: self.client_id.trim().to_owned(),
            authority,
            http,
            cache: CacheAccess::new(self.cache),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            expiry_buffer: self.expiry_buffer,
            max_refresh_wait: self.max_refresh_wait,
            retry: self.retry,
            client_capabilities: self.client_capabilities,
            endpoints: EndpointResolver::new(self.instance_discovery),
            flights: Arc::new(SingleFlight::new()),
            throttle: ThrottleTable::new(),
            custom_web_ui: self.web_ui.is_some(),
            web_ui: self
                .web_ui
                .unwrap_or_else(|| Arc::new(SystemBrowser::new())),
            device_code_fallback: self.device_code_fallback,
            prompts: Arc::new(SingleFlight::new()),
        };
        Ok(PublicClientApplication {
            core: Arc::new(core),
        })
    }
}

impl std::fmt::Debug for PublicClientApplicationBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicClientApplicationBuilder")
            .field("client_id", &self.client_id)
            .field("instance_discovery", &self.instance_discovery)
            .finish_non_exhaustive()
    }
}
