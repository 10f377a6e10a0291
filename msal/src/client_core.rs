//! What every request reads, whatever the kind of client: configuration, transport, cache,
//! clock, the endpoint resolver, single-flight, the throttle table and the partition rule.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::http::throttle::ThrottleTable;
use crate::http::{HttpClient, RetryPolicy};
use msal_cache::Partition;
use msal_core::{Account, Authority, Clock};

use crate::cache_access::CacheAccess;
use crate::endpoints::EndpointResolver;
use crate::single_flight::SingleFlight;
use crate::{AuthenticationResult, Error};

/// Access tokens claiming to live longer than this are treated as corrupt (MSAL.NET #1806).
pub(crate) const MAX_PLAUSIBLE_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The partition rule for user tokens (see [`ClientCore::user_partition`]): an account's own
/// partition in a confidential client, the whole cache in a public one.
pub(crate) fn user_partition(confidential: bool, home_account_id: &str) -> Partition<'_> {
    if confidential {
        Partition::Account(home_account_id)
    } else {
        Partition::All
    }
}

/// What the single-flight map is keyed by: requests with equal keys share one refresh.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RefreshKey {
    /// Whose token: a home account id, `app` for app-only tokens, `obo:{hash}` for
    /// on-behalf-of tokens.
    pub home_account_id: String,
    pub authority: String,
    pub scopes: String,
    pub claims: Option<String>,
    pub bypass_cache: bool,
}

/// A throttle-table entry.
#[derive(Debug, Clone)]
pub(crate) enum Throttled {
    /// 429/5xx or Retry-After: identical requests fail fast.
    Status(u16),
    /// An "interaction required" answer, replayed for identical requests with the same RT.
    UiRequired(Box<Error>),
    /// The request timed out: identical requests fail fast with the same timeout.
    TimedOut,
}

/// What only one kind of client has. (A public client's sign-in UI lives in the
/// `PublicClientApplication` itself: no other request needs it.)
pub(crate) enum ClientKind {
    /// A desktop app, a CLI, a mobile app: no credential of its own.
    Public,
    /// A managed identity: the platform's token endpoint, no credential of the app's own.
    ManagedIdentity,
    /// A web app, web API or daemon with a credential of its own.
    Confidential {
        credential: crate::credential::ClientCredential,
        /// The Azure region whose regional token endpoint client-credential requests use
        /// (named, or detected on first use).
        azure_region: Option<crate::region::AzureRegion>,
    },
}

pub(crate) struct ClientCore {
    pub client_id: String,
    pub authority: Arc<Authority>,
    /// `authority` with each tenant requests were sent to (multi-tenant authorities), so a
    /// silent call does not build the same authority again every time.
    pub tenant_authorities: std::sync::RwLock<std::collections::HashMap<String, Arc<Authority>>>,
    pub http: Arc<dyn HttpClient>,
    pub cache: CacheAccess,
    pub clock: Arc<dyn Clock>,
    pub expiry_buffer: Duration,
    /// How long a silent call holding a still-valid cached token waits for its refresh.
    pub max_refresh_wait: Duration,
    /// How long a refresh waits for another process's refresh of the same tokens (see
    /// [`crate::engine::refresh_lock`]).
    pub refresh_lock_wait: Duration,
    pub retry: RetryPolicy,
    pub client_capabilities: Vec<String>,
    /// The application's extra query parameters (validated), under each request's.
    pub extra_query: crate::extra_query::QueryParams,
    pub endpoints: EndpointResolver,
    pub flights: Arc<SingleFlight<RefreshKey, AuthenticationResult>>,
    pub throttle: ThrottleTable<Throttled>,
    /// What only one kind of client has.
    pub kind: ClientKind,
    /// How long identical requests are blocked after a 429/5xx without `Retry-After`.
    pub status_block: Duration,
    /// The application's observer of [`crate::events::Event`]s, if any.
    pub events: crate::events::Events,
}

impl ClientCore {
    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    pub(crate) fn now_secs(&self) -> u64 {
        msal_core::clock::unix_seconds(self.now())
    }

    /// A cache lookup of this client's tokens with no account (app and on-behalf-of tokens)
    /// for `scopes`, in `environment` and `realm`; entries expiring implausibly far ahead are
    /// treated as corrupt.
    pub(crate) fn accountless_query<'a>(
        &'a self,
        environment: &'a str,
        realm: &'a str,
        scopes: &'a msal_core::ScopeSet,
    ) -> msal_cache::AccessTokenQuery<'a> {
        msal_cache::AccessTokenQuery {
            home_account_id: None,
            environment,
            client_id: &self.client_id,
            realm,
            scopes,
            max_expires_on: self
                .now_secs()
                .saturating_add(MAX_PLAUSIBLE_LIFETIME.as_secs()),
        }
    }

    /// Pause for `duration` on the app's clock (see [`crate::http::pause::sleep_on`]).
    pub(crate) async fn sleep(&self, duration: Duration) {
        crate::http::pause::sleep_on(self.clock.as_ref(), duration).await
    }

    /// Whether this is a confidential client (it has a credential of its own).
    pub(crate) fn is_confidential(&self) -> bool {
        matches!(self.kind, ClientKind::Confidential { .. })
    }

    /// A confidential client's credential.
    pub(crate) fn credential(&self) -> Option<&crate::credential::ClientCredential> {
        match &self.kind {
            ClientKind::Confidential { credential, .. } => Some(credential),
            ClientKind::Public | ClientKind::ManagedIdentity => None,
        }
    }

    /// The Azure region a confidential client's app-token requests go to, if set (detected
    /// on the first call when the app asked for auto-detection; `None`: the global endpoint).
    pub(crate) async fn azure_region(&self) -> Option<String> {
        match &self.kind {
            ClientKind::Confidential {
                azure_region: Some(region),
                ..
            } => region.resolve(self.http.as_ref()).await,
            _ => None,
        }
    }

    /// The cache partition holding an account's tokens. A public client's cache is one
    /// document (a desktop or command-line app keeps its user's tokens together, and
    /// `accounts()` must see every one of them), so every call uses [`Partition::All`]. A
    /// confidential client serves many users, and each call concerns one of them: their own
    /// partition.
    pub(crate) fn user_partition<'a>(&self, home_account_id: &'a str) -> Partition<'a> {
        user_partition(self.is_confidential(), home_account_id)
    }

    /// The endpoints of `authority` (known, or discovered once).
    pub(crate) async fn endpoints_for(
        &self,
        authority: &Authority,
        correlation_id: &str,
    ) -> Result<msal_core::Endpoints, Error> {
        self.endpoints
            .resolve(
                authority,
                self.http.as_ref(),
                &self.retry,
                self.clock.as_ref(),
                correlation_id,
                &self.events,
            )
            .await
    }

    /// The authority a request for `account` goes to: for Entra's `common` and `organizations`,
    /// the account's home tenant (as MSAL.NET does), so cached tokens are found under the tenant
    /// they were issued in and refreshes go to that tenant.
    ///
    /// `None` means the configured authority itself: the common case costs no reference count
    /// on a value every thread shares.
    pub(crate) fn request_authority(&self, account: &Account) -> Option<Arc<Authority>> {
        if self.authority.is_multi_tenant() {
            let tenant = account
                .home_tenant_id()
                .or(Some(account.tenant_id.as_str()).filter(|t| !t.is_empty()));
            match tenant {
                Some(tenant) if crate::tenant_name::is_valid_tenant(tenant) => {
                    return Some(self.tenant_authority(tenant));
                }
                Some(_) => {
                    tracing::warn!("the account's tenant is not a tenant id or domain name; using the configured authority");
                }
                None => {}
            }
        }
        None
    }

    /// The configured B2C authority with another policy (user flow), for one request.
    pub(crate) fn policy_authority(&self, policy: &str) -> Result<Arc<Authority>, Error> {
        let valid = !policy.is_empty()
            && policy.len() <= 256
            && policy
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(Error::InvalidArgument(format!(
                "{policy:?} is not a B2C policy name (letters, digits, `_` and `-`)"
            )));
        }
        self.authority
            .with_policy(policy)
            .map(Arc::new)
            .ok_or_else(|| {
                Error::InvalidArgument(
                    "a policy (user flow) applies to B2C authorities only".into(),
                )
            })
    }

    /// The configured authority with `tenant`, built once per tenant. The map only grows with
    /// the tenants of signed-in accounts (a handful); past a bound it is simply not extended.
    pub(crate) fn tenant_authority(&self, tenant: &str) -> Arc<Authority> {
        const MAX_CACHED_TENANTS: usize = 1024;
        let known = self
            .tenant_authorities
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .cloned();
        if let Some(authority) = known {
            return authority;
        }
        let authority = Arc::new(self.authority.with_tenant(tenant));
        let mut map = self
            .tenant_authorities
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if map.len() < MAX_CACHED_TENANTS {
            map.insert(tenant.to_owned(), Arc::clone(&authority));
        }
        authority
    }
}
