//! Building a [`PublicClientApplication`].

use std::sync::Arc;
use std::time::Duration;

use crate::http::throttle::ThrottleTable;
use crate::http::{HttpClient, RetryPolicy};
use msal_cache::CacheStore;
use msal_core::{Authority, Clock, SystemClock};

use crate::cache_access::CacheAccess;
use crate::client_core::ClientCore;
use crate::client_core::ClientKind;
use crate::endpoints::EndpointResolver;
use crate::flows::device_code::DeviceCodeCallback;
use crate::flows::interactive::SignInUi;
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

crate::builder_setters::core_setters!(PublicClientApplicationBuilder);

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
        let core = self.config.into_core(ClientKind::Public)?;
        let ui = SignInUi {
            custom_web_ui: self.web_ui.is_some(),
            web_ui: self
                .web_ui
                .unwrap_or_else(|| Arc::new(SystemBrowser::new())),
            device_code_fallback: self.device_code_fallback,
            prompts: Arc::new(SingleFlight::new()),
        };
        Ok(PublicClientApplication {
            core: Arc::new(core),
            ui: Arc::new(ui),
        })
    }
}

/// The configuration every application type shares.
pub(crate) struct CoreConfig {
    pub client_id: String,
    pub authority: AuthoritySpec,
    pub instance_discovery: bool,
    /// `known_authorities`: hosts the app trusts (empty: not restricted by this).
    pub known_authorities: Vec<String>,
    /// `instance_discovery_metadata`: the JSON, parsed at build.
    pub instance_metadata: Option<String>,
    /// `authority_metadata`: an OpenID Connect discovery document, parsed at build.
    pub authority_metadata: Option<String>,
    pub cache: Option<Arc<dyn CacheStore>>,
    pub http: Option<Arc<dyn HttpClient>>,
    pub clock: Option<Arc<dyn Clock>>,
    pub expiry_buffer: Duration,
    pub max_refresh_wait: Duration,
    /// `None`: derived from the transport's timeout and the retry policy.
    pub refresh_lock_wait: Option<Duration>,
    pub max_partitions_in_memory: usize,
    pub retry: RetryPolicy,
    pub client_capabilities: Vec<String>,
    /// Extra query parameters for every request (see [`crate::extra_query`]).
    pub extra_query: crate::extra_query::QueryParams,
    /// `on_event`: the observer of [`crate::events::Event`]s.
    pub events: crate::events::Events,
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
            known_authorities: Vec::new(),
            instance_metadata: None,
            authority_metadata: None,
            cache: None,
            http: None,
            clock: None,
            expiry_buffer: DEFAULT_EXPIRY_BUFFER,
            max_refresh_wait: DEFAULT_MAX_REFRESH_WAIT,
            refresh_lock_wait: None,
            max_partitions_in_memory: crate::partition_map::DEFAULT_MAX_PARTITIONS,
            retry: RetryPolicy::default(),
            client_capabilities: Vec::new(),
            extra_query: Vec::new(),
            events: crate::events::Events::none(),
        }
    }

    /// The hosts the app restricted its authorities to, if it did: its known authorities and
    /// the hosts of its instance discovery metadata.
    fn trusted_hosts(&self) -> Result<Option<msal_core::TrustedHosts>, Error> {
        if self.known_authorities.is_empty() && self.instance_metadata.is_none() {
            return Ok(None);
        }
        let mut trusted = msal_core::TrustedHosts::new(&self.known_authorities)?;
        if let Some(json) = &self.instance_metadata {
            trusted.extend_with(&msal_core::InstanceDiscoveryMetadata::parse(json)?);
        }
        Ok(Some(trusted))
    }

    /// Validate and assemble. No I/O.
    pub(crate) fn into_core(self, kind: ClientKind) -> Result<ClientCore, Error> {
        if self.client_id.trim().is_empty() {
            return Err(Error::InvalidArgument("client id is empty".into()));
        }
        let authority = match &self.authority {
            AuthoritySpec::Standard(a) => Authority::parse(a)?,
            AuthoritySpec::Oidc(a) => Authority::oidc(a)?,
        };
        let preset = match &self.authority_metadata {
            Some(json) if authority.kind() == msal_core::AuthorityKind::Oidc => {
                let metadata = msal_core::OidcMetadata::parse(json.as_bytes())?;
                Some(crate::endpoints::checked_endpoints(&authority, metadata)?)
            }
            Some(_) => {
                return Err(Error::InvalidArgument(
                    "authority_metadata is for OpenID Connect authorities (oidc_authority): \
                     Entra, B2C, CIAM and ADFS endpoints need no discovery"
                        .into(),
                ))
            }
            None => None,
        };
        let trusted = self.trusted_hosts()?;
        if let Some(trusted) = &trusted {
            trusted.check(&authority)?;
        }
        // The transport's per-request timeout is taken to be the default transport's (30 s):
        // the wait only decides when a waiter gives up, never whether a refresh token is
        // redeemed twice, and a transport of the app's own says nothing of its timeout.
        let http: Arc<dyn HttpClient> = match self.http {
            Some(h) => h,
            None => default_http_client()?,
        };
        let refresh_lock_wait = self.refresh_lock_wait.unwrap_or_else(|| {
            crate::engine::refresh_lock::holder_worst_case(
                crate::engine::refresh_lock::ASSUMED_REQUEST_TIMEOUT,
                &self.retry,
            )
        });
        crate::extra_query::validate(&self.extra_query)?;
        let confidential = matches!(kind, ClientKind::Confidential { .. });
        Ok(ClientCore {
            client_id: self.client_id.trim().to_owned(),
            authority: Arc::new(authority),
            tenant_authorities: Default::default(),
            http,
            cache: CacheAccess::new(self.cache, confidential, self.max_partitions_in_memory),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            expiry_buffer: self.expiry_buffer,
            max_refresh_wait: self.max_refresh_wait,
            refresh_lock_wait,
            retry: self.retry,
            client_capabilities: self.client_capabilities,
            extra_query: self.extra_query,
            endpoints: EndpointResolver::new(self.instance_discovery, trusted, preset),
            flights: Arc::new(SingleFlight::new()),
            throttle: ThrottleTable::new(),
            kind,
            status_block: if confidential {
                CONFIDENTIAL_STATUS_BLOCK
            } else {
                crate::http::throttle::HTTP_STATUS_BLOCK
            },
            events: self.events,
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
