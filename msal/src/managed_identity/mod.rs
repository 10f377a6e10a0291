//! Managed identity: tokens for the Azure resource the code runs on, with no secret at all.
//!
//! ```no_run
//! # async fn run() -> Result<(), msal::Error> {
//! use msal::{ManagedIdentityApplication, ManagedIdentityId};
//!
//! let app = ManagedIdentityApplication::builder(ManagedIdentityId::SystemAssigned).build()?;
//! let token = app
//!     .acquire_token_for_managed_identity("https://management.azure.com/")
//!     .await?;
//! println!("{} token expires at {:?}", app.source(), token.expires_on());
//! # Ok(())
//! # }
//! ```
//!
//! # Sources
//! [`ManagedIdentityApplicationBuilder::build`] picks the source from the environment, in MSAL
//! Python's order (the first that matches wins); [`ManagedIdentityApplicationBuilder::source`]
//! picks one explicitly.
//!
//! | Source | Detected when | Request | Limits |
//! |---|---|---|---|
//! | [Service Fabric](ManagedIdentitySource::ServiceFabric) | `IDENTITY_ENDPOINT`, `IDENTITY_HEADER` and `IDENTITY_SERVER_THUMBPRINT` are set | `GET IDENTITY_ENDPOINT?api-version=2019-07-01-preview`, header `Secret` | the identity is the cluster's: a user-assigned id is ignored; the only source sent `token_sha256_to_refresh` and `xms_cc`; 404 is not retried; the endpoint's certificate is checked by the HTTP client as usual (no thumbprint pinning) |
//! | [App Service](ManagedIdentitySource::AppService) (also Functions, Container Apps) | `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` | `GET IDENTITY_ENDPOINT?api-version=2019-08-01`, header `X-IDENTITY-HEADER`; `client_id` / `mi_res_id` / `object_id` | `expires_on` must be epoch seconds |
//! | [Azure Machine Learning](ManagedIdentitySource::MachineLearning) | `MSI_ENDPOINT` and `MSI_SECRET` | `GET MSI_ENDPOINT?api-version=2017-09-01`, header `secret`; `clientid` / `msi_res_id` / `object_id` | |
//! | [Azure Arc](ManagedIdentitySource::AzureArc) | `IDENTITY_ENDPOINT` and `IMDS_ENDPOINT`, or the agent installed (`/opt/azcmagent/bin/himds`, `%ProgramFiles%\AzureConnectedMachineAgent\himds.exe`) | `GET IDENTITY_ENDPOINT` (default `http://localhost:40342/metadata/identity/oauth2/token`) `?api-version=2020-06-01`, header `Metadata: true`; answers the `WWW-Authenticate: Basic realm=<file>` challenge with the file's content | system-assigned only; the key file must be a regular `*.key` file of at most 4096 bytes directly in the agent's token folder (`/var/opt/azcmagent/tokens`, `%ProgramData%\AzureConnectedMachineAgent\Tokens`), checked before it is read; Linux and Windows only |
//! | [Cloud Shell](ManagedIdentitySource::CloudShell) | `MSI_ENDPOINT` alone, or `AZUREPS_HOST_ENVIRONMENT` starting with `cloud-shell` | `POST MSI_ENDPOINT` (default `http://localhost:50342/oauth2/token`), form `resource=`, header `Metadata: true` | system-assigned only; the token is the signed-in user's |
//! | [IMDS](ManagedIdentitySource::Imds) | otherwise | `GET http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01` (host from `AZURE_POD_IDENTITY_AUTHORITY_HOST` when set), header `Metadata: true`; `client_id` / `msi_res_id` / `object_id` | 400 means the identity is not assigned: final, not retried |
//!
//! A scope `<resource>/.default` is sent as the resource's scheme and host, as MSAL does.
//!
//! # Cache
//! Tokens are served cache-first like every other flow (5-minute expiry buffer, `refresh_on`
//! refreshed in the background, concurrent callers sharing one request, the still-valid token
//! served when a refresh fails), and written in MSAL's unified schema as MSAL Python writes
//! them: an access token with `environment` `localhost`, `realm` `managed_identity`, no account,
//! `client_id` the user-assigned id (`null` for a system-assigned identity, as MSAL Python
//! 1.39 writes it; tokens cached under MSAL.NET's `SYSTEM_ASSIGNED_MANAGED_IDENTITY` are read
//! too) and `target` the resource, so a cache file shared with MSAL Python's
//! `ManagedIdentityClient` serves both. A token living 2 hours or more is refreshed at half its life.
//! `.claims(..)` and `.force_refresh(true)` skip the cached token.
//!
//! # Errors and retries
//! Failures are [`Error::ManagedIdentity`]: a
//! [`ManagedIdentityError`] naming the source, a [`ManagedIdentityErrorKind`] and what to
//! check. None is "interaction required". IMDS is retried on 404, 410, 429 and 5xx, the
//! others on 429 and 5xx, all on timeouts, with exponential backoff within an overall bound
//! ([`ManagedIdentityRetryPolicy`]). An answer that is not a usable token (an HTML page, no
//! `access_token`, an `expires_on` that is not a number or already past) is an error and
//! nothing is cached.

mod arc_key;
mod environment;
pub(crate) mod error;
mod flow;
mod request;
mod retry;
mod source;
mod source_kind;

use std::sync::Arc;
use std::time::Duration;

use msal_cache::CacheStore;
use msal_core::Clock;
use msal_http::HttpClient;

pub use environment::ManagedIdentityEnvironment;
pub use error::{ManagedIdentityError, ManagedIdentityErrorKind};
pub use flow::AcquireTokenForManagedIdentity;
pub use msal_core::ManagedIdentityId;
pub use retry::ManagedIdentityRetryPolicy;
pub use source::ManagedIdentitySource;

use crate::builder::CoreConfig;
use crate::client_core::{ClientCore, ClientKind};
use crate::Error;
use source::SourceConfig;

mod transport;

/// What every request of one app shares besides the core.
pub(crate) struct Shared {
    pub id: ManagedIdentityId,
    pub config: SourceConfig,
    pub retry: ManagedIdentityRetryPolicy,
}

/// An app that acquires tokens as a managed identity. See [the module notes](self) for the
/// sources, the cache and the errors.
///
/// Cheap to clone and `Send + Sync`: build it once and share it.
#[derive(Clone)]
pub struct ManagedIdentityApplication {
    core: Arc<ClientCore>,
    shared: Arc<Shared>,
}

impl ManagedIdentityApplication {
    /// Start building an app for `id`.
    pub fn builder(id: ManagedIdentityId) -> ManagedIdentityApplicationBuilder {
        ManagedIdentityApplicationBuilder {
            // The core's client id names the app in logs and partitions; the cache's
            // `client_id` (empty for system-assigned, as MSAL Python writes it) is the flow's.
            config: CoreConfig::new(
                id.user_assigned_id()
                    .unwrap_or(msal_core::managed_identity::SYSTEM_ASSIGNED_CACHE_ID)
                    .to_owned(),
            ),
            id,
            environment: None,
            source: None,
            retry: ManagedIdentityRetryPolicy::default(),
        }
    }

    /// The source tokens come from, chosen when the app was built.
    pub fn source(&self) -> ManagedIdentitySource {
        self.shared.config.source
    }

    /// The identity tokens are acquired for.
    pub fn managed_identity(&self) -> &ManagedIdentityId {
        &self.shared.id
    }

    /// A token for `resource` (e.g. `https://management.azure.com/`, or a scope
    /// `https://management.azure.com/.default`), from the cache while it is valid for more
    /// than the expiry buffer.
    pub fn acquire_token_for_managed_identity(
        &self,
        resource: impl Into<String>,
    ) -> AcquireTokenForManagedIdentity {
        AcquireTokenForManagedIdentity {
            core: Arc::clone(&self.core),
            shared: Arc::clone(&self.shared),
            resource: resource.into(),
            claims: None,
            force_refresh: false,
            correlation_id: None,
        }
    }
}

impl std::fmt::Debug for ManagedIdentityApplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedIdentityApplication")
            .field("id", &self.shared.id)
            .field("source", &self.shared.config.source)
            .field(
                "endpoint",
                &self.shared.config.endpoint.origin().ascii_serialization(),
            )
            .finish_non_exhaustive()
    }
}

/// Builder for [`ManagedIdentityApplication`]; `build` does no network I/O.
pub struct ManagedIdentityApplicationBuilder {
    config: CoreConfig,
    id: ManagedIdentityId,
    environment: Option<ManagedIdentityEnvironment>,
    source: Option<ManagedIdentitySource>,
    retry: ManagedIdentityRetryPolicy,
}

impl ManagedIdentityApplicationBuilder {
    /// Where the token cache is kept (default: in this process's memory only).
    pub fn cache(mut self, store: impl CacheStore + 'static) -> Self {
        self.config.cache = Some(Arc::new(store));
        self
    }

    /// The HTTP transport (default: [`msal_http::ReqwestHttpClient`]).
    pub fn http_client(mut self, client: impl HttpClient + 'static) -> Self {
        self.config.http = Some(Arc::new(client));
        self
    }

    /// The environment the source is detected and configured from (default:
    /// [`ManagedIdentityEnvironment::from_process`]).
    pub fn environment(mut self, environment: ManagedIdentityEnvironment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// Use this source instead of detecting one; its endpoint still comes from the
    /// environment, and `build` fails when the variables it needs are missing.
    pub fn source(mut self, source: ManagedIdentitySource) -> Self {
        self.source = Some(source);
        self
    }

    /// How requests are retried (default: [`ManagedIdentityRetryPolicy::default`]).
    pub fn retry_policy(mut self, retry: ManagedIdentityRetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The clock every expiry decision reads and the pauses between retries go through
    /// (default: the system clock, pausing on Tokio's timer; see [`crate::Clock::sleep`]).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.config.clock = Some(Arc::new(clock));
        self
    }

    /// How long before expiry a cached token is refreshed instead of served (default 5
    /// minutes).
    pub fn token_expiry_buffer(mut self, buffer: Duration) -> Self {
        self.config.expiry_buffer = buffer;
        self
    }

    /// When the cached token is inside the expiry buffer but has not expired, how long a call
    /// waits for its refresh before returning the cached token (default 5 s).
    pub fn max_refresh_wait(mut self, wait: Duration) -> Self {
        self.config.max_refresh_wait = wait;
        self
    }

    /// Client capabilities (e.g. `["cp1"]`), sent as `xms_cc` to the sources that take them
    /// (Service Fabric).
    pub fn client_capabilities<I>(mut self, capabilities: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.config.client_capabilities = capabilities.into_iter().map(Into::into).collect();
        self
    }

    /// Detect (or check) the source and build the app. No network I/O; the environment is
    /// read here (and the Arc agent's binary looked for).
    pub fn build(self) -> Result<ManagedIdentityApplication, Error> {
        if self
            .id
            .user_assigned_id()
            .is_some_and(|id| id.trim().is_empty())
        {
            return Err(Error::InvalidArgument(
                "the user-assigned managed identity id is empty".into(),
            ));
        }
        let environment = self
            .environment
            .unwrap_or_else(ManagedIdentityEnvironment::from_process);
        let source = self.source.unwrap_or_else(|| source::detect(&environment));
        let config = source::configure(source, &environment)?;
        tracing::debug!(%source, endpoint = %config.endpoint.origin().ascii_serialization(), "managed identity source");
        let core = self.config.into_core(ClientKind::ManagedIdentity)?;
        Ok(ManagedIdentityApplication {
            core: Arc::new(core),
            shared: Arc::new(Shared {
                id: self.id,
                config,
                retry: self.retry,
            }),
        })
    }
}

impl std::fmt::Debug for ManagedIdentityApplicationBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedIdentityApplicationBuilder")
            .field("id", &self.id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}
