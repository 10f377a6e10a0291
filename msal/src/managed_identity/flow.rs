//! A managed identity token request, served by the cache-first pipeline
//! ([`crate::engine::serve`]) like app tokens: expiry buffer, `refresh_on` refreshed in the
//! background, single-flight, the still-valid token served through a fault.
//!
//! Cached in MSAL's unified schema as MSAL Python writes it: an access token with no account,
//! `environment` `localhost`, `realm` `managed_identity`, `client_id` the user-assigned id (or
//! null for system-assigned), `target` the resource.

use std::future::IntoFuture;
use std::sync::Arc;

use futures::future::BoxFuture;
use msal_cache::schema::AccessTokenEntry;
use msal_cache::{AccessTokenQuery, Partition, TokenCache, TokenWrite};
use msal_core::clock::from_unix_seconds;
use msal_core::managed_identity::{
    resource_from_scope, token_sha256_hex, ManagedIdentityToken, CACHE_ENVIRONMENT, CACHE_REALM,
    SYSTEM_ASSIGNED_CACHE_ID,
};
use msal_core::ScopeSet;

use crate::http::throttle::throttle_key;
use msal_core::clock::unix_seconds;

use super::error::{ManagedIdentityError, ManagedIdentityErrorKind};
use super::request::TokenRequest;
use super::transport::{obtain, Transport};
use super::Shared;
use crate::client_core::{ClientCore, RefreshKey, Throttled, MAX_PLAUSIBLE_LIFETIME};
use crate::engine::{memo_answer, serve, CachedFlow, Found};
use crate::hit_memo::MemoKey;
use crate::result::TokenData;
use crate::{AuthenticationResult, Error, TokenSource};

/// How long identical requests are blocked after a 429/5xx without `Retry-After` (MSAL
/// Python's value for managed identity).
const THROTTLE_DEFAULT: std::time::Duration = std::time::Duration::from_secs(5);

/// A managed identity token request; set options, then `.await` it.
#[must_use = "a request does nothing until it is awaited"]
pub struct AcquireTokenForManagedIdentity {
    pub(crate) core: Arc<ClientCore>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) resource: String,
    pub(crate) claims: Option<String>,
    pub(crate) force_refresh: bool,
    pub(crate) correlation_id: Option<String>,
}

impl AcquireTokenForManagedIdentity {
    /// A claims challenge from a resource (e.g. after the tenant revoked the identity's
    /// tokens): skips the cached token and asks the source again. Sources that support it
    /// (Service Fabric) are told which token is being replaced (`token_sha256_to_refresh`).
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// Skip the cached token and ask the source (default false).
    pub fn force_refresh(mut self, force: bool) -> Self {
        self.force_refresh = force;
        self
    }

    /// The correlation id (sent to IMDS as `x-ms-client-request-id`; default: a new UUID).
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }
}

impl std::fmt::Debug for AcquireTokenForManagedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquireTokenForManagedIdentity")
            .field("resource", &self.resource)
            .field("force_refresh", &self.force_refresh)
            .field("claims", &self.claims.is_some())
            .finish()
    }
}

impl IntoFuture for AcquireTokenForManagedIdentity {
    type Output = Result<AuthenticationResult, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            use tracing::Instrument;
            let plain =
                !self.force_refresh && self.claims.as_deref().is_none_or(|c| c.trim().is_empty());
            let mut validated_generation = None;
            if plain {
                // A repeated hit is answered by the memo (see `crate::hit_memo`): the memo is
                // this app's own, so the resource as given is the whole key.
                let partition = Partition::App {
                    client_id: self.shared.id.cache_client_id(),
                    tenant: CACHE_REALM,
                };
                let key = MemoKey::App {
                    tenant: None,
                    scopes: std::slice::from_ref(&self.resource),
                };
                match memo_answer(&self.core, partition, &key, self.correlation_id.as_deref())
                    .await?
                {
                    Ok(result) => return Ok(result),
                    Err(generation) => validated_generation = Some(generation),
                }
            }
            let mut flow = ManagedIdentityFlow::new(
                self.shared,
                &self.resource,
                self.claims,
                self.force_refresh,
                self.correlation_id,
            )?;
            flow.validated_generation = validated_generation;
            let flow = Arc::new(flow);
            let span = tracing::debug_span!("acquire_token_for_managed_identity", correlation_id = %flow.correlation_id, source = %flow.shared.config.source);
            serve(self.core, flow).instrument(span).await
        })
    }
}

/// A normalised managed identity request.
pub(crate) struct ManagedIdentityFlow {
    shared: Arc<Shared>,
    /// The resource as the caller gave it (the hit memo's key).
    raw_resource: String,
    /// The cache generation the store confirmed for this call already (the hit memo asked).
    validated_generation: Option<u64>,
    resource: String,
    match_scopes: ScopeSet,
    claims: Option<String>,
    bypass_cache: bool,
    correlation_id: String,
}

impl ManagedIdentityFlow {
    fn new(
        shared: Arc<Shared>,
        raw_resource: &str,
        claims: Option<String>,
        force_refresh: bool,
        correlation_id: Option<String>,
    ) -> Result<Self, Error> {
        let resource = resource_from_scope(raw_resource).ok_or_else(|| {
            Error::InvalidArgument(
                "a managed identity token needs a resource, e.g. https://management.azure.com/"
                    .into(),
            )
        })?;
        let match_scopes = ScopeSet::parse_request([resource.as_str()])
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let claims = claims.filter(|c| !c.trim().is_empty());
        Ok(ManagedIdentityFlow {
            raw_resource: raw_resource.to_owned(),
            validated_generation: None,
            bypass_cache: force_refresh || claims.is_some(),
            shared,
            resource,
            match_scopes,
            claims,
            correlation_id: correlation_id.unwrap_or_else(crate::correlation::new_correlation_id),
        })
    }

    fn client_id(&self) -> &str {
        self.shared.id.cache_client_id()
    }

    /// The cached token for this request, expired or not (`serve` decides).
    fn cached_entry<'c>(
        &self,
        core: &ClientCore,
        cache: &'c TokenCache,
    ) -> Option<&'c AccessTokenEntry> {
        let max_expires_on = core
            .now_secs()
            .saturating_add(MAX_PLAUSIBLE_LIFETIME.as_secs());
        let find = |client_id: &str| {
            cache.find_access_token(&AccessTokenQuery {
                home_account_id: None,
                environment: CACHE_ENVIRONMENT,
                client_id,
                realm: CACHE_REALM,
                scopes: &self.match_scopes,
                max_expires_on,
            })
        };
        let ours = find(self.client_id());
        // A system-assigned identity's tokens are written with `client_id` null, as MSAL
        // Python writes them; those under MSAL.NET's constant (which msal-rs wrote before)
        // serve too.
        let legacy = match self.shared.id.is_user_assigned() {
            false => find(SYSTEM_ASSIGNED_CACHE_ID),
            true => None,
        };
        ours.into_iter().chain(legacy).max_by_key(|e| e.expires_on)
    }

    fn entry(&self, token: &ManagedIdentityToken, now: u64) -> AccessTokenEntry {
        AccessTokenEntry {
            credential_type: "AccessToken".into(),
            secret: (&token.access_token).into(),
            home_account_id: None,
            environment: CACHE_ENVIRONMENT.into(),
            client_id: self.client_id().into(),
            realm: CACHE_REALM.into(),
            target: self.resource.as_str().into(),
            cached_at: now,
            expires_on: token.expires_on,
            extended_expires_on: token.expires_on,
            refresh_on: token.refresh_on,
            token_type: Some(token.token_type.as_str().into()),
            extra: Default::default(),
        }
    }
}

/// The result of a cached (or just cached) entry.
fn result_of(entry: &AccessTokenEntry, source: TokenSource, correlation_id: &str) -> Found {
    Found {
        expires_on: entry.expires_on,
        refresh_on: entry.refresh_on,
        result: AuthenticationResult::new(
            Arc::new(TokenData {
                access_token: entry.secret.clone(),
                token_type: entry
                    .token_type
                    .clone()
                    .unwrap_or_else(|| arcstr::literal!("Bearer")),
                expires_on: from_unix_seconds(entry.expires_on),
                refresh_on: entry.refresh_on.map(from_unix_seconds),
                scopes: vec![entry.target.to_string()],
                account: None,
                id_token: None,
                tenant_id: None,
            }),
            source,
            correlation_id.to_owned(),
        ),
        account_cached: false,
    }
}

impl CachedFlow for ManagedIdentityFlow {
    fn correlation_id(&self) -> &str {
        &self.correlation_id
    }

    fn bypass_cache(&self) -> bool {
        self.bypass_cache
    }

    fn validated_generation(&self) -> Option<u64> {
        self.validated_generation
    }

    fn remember(&self, core: &ClientCore, generation: u64, found: &Found) {
        core.cache.memo.put(
            generation,
            &MemoKey::App {
                tenant: None,
                scopes: std::slice::from_ref(&self.raw_resource),
            },
            found.expires_on,
            found.refresh_on,
            Arc::clone(found.result.token_data()),
        );
    }

    fn partition(&self) -> Partition<'_> {
        Partition::App {
            client_id: self.client_id(),
            tenant: CACHE_REALM,
        }
    }

    fn find(&self, core: &ClientCore, cache: &TokenCache) -> Option<Found> {
        let entry = self.cached_entry(core, cache)?;
        Some(result_of(entry, TokenSource::Cache, &self.correlation_id))
    }

    fn refresh_key(&self) -> RefreshKey {
        RefreshKey {
            home_account_id: format!("managed_identity:{}", self.client_id().to_ascii_lowercase()),
            authority: self.shared.config.source.name().to_owned(),
            scopes: self.resource.to_ascii_lowercase(),
            claims: self.claims.clone(),
            bypass_cache: self.bypass_cache,
        }
    }

    fn acquire(
        core: Arc<ClientCore>,
        flow: Arc<Self>,
        cache: Arc<TokenCache>,
    ) -> BoxFuture<'static, Result<AuthenticationResult, Error>> {
        Box::pin(async move {
            // A claims challenge names no token; as MSAL Python does, the one replaced is the
            // cached token that is still valid.
            let replaced = match &flow.claims {
                Some(_) => flow
                    .cached_entry(&core, &cache)
                    .filter(|e| e.expires_on > core.now_secs())
                    .map(|e| token_sha256_hex(e.secret.expose_secret())),
                None => None,
            };
            drop(cache);
            let now = || core.now_secs();
            let transport = Transport {
                http: core.http.as_ref(),
                retry: &flow.shared.retry,
                now: &now,
                clock: core.clock.as_ref(),
            };
            let request = TokenRequest {
                config: &flow.shared.config,
                id: &flow.shared.id,
                resource: &flow.resource,
                token_sha256_to_refresh: replaced.as_deref(),
                client_capabilities: &core.client_capabilities,
                correlation_id: &flow.correlation_id,
            };
            let throttle = throttle_key(&[
                flow.shared.config.source.name(),
                flow.shared.config.endpoint.as_str(),
                flow.client_id(),
                &flow.resource,
                replaced.as_deref().unwrap_or(""),
            ]);
            if let Some((until, Throttled::Status(status))) =
                core.throttle.check(&throttle, core.now())
            {
                let source = flow.shared.config.source;
                return Err(ManagedIdentityError::new(
                    source,
                    ManagedIdentityErrorKind::Unavailable,
                    Some(status),
                    format!("{source} answered HTTP {status} to this request a moment ago; identical requests are blocked until {} (Unix seconds): try again then", unix_seconds(until)),
                )
                .into());
            }
            let token = match obtain(&transport, &request).await {
                Ok(token) => token,
                Err(e) => {
                    // As MSAL Python does: a 429/5xx (after the retries) blocks identical
                    // requests for its Retry-After, or 5 s, so that callers in a loop do not
                    // hammer a struggling endpoint.
                    if let (
                        ManagedIdentityErrorKind::Unavailable,
                        Some(status @ (429 | 500..=599)),
                    ) = (e.kind, e.status)
                    {
                        core.throttle.block(
                            throttle,
                            core.now(),
                            e.retry_after.unwrap_or(THROTTLE_DEFAULT),
                            Throttled::Status(status),
                        );
                    }
                    return Err(e.into());
                }
            };
            let entry = flow.entry(&token, core.now_secs());
            let write = TokenWrite {
                access_token: Some(entry.clone()),
                ..TokenWrite::default()
            };
            core.cache
                .write(flow.partition(), |c| c.apply(&write))
                .await?;
            tracing::debug!(correlation_id = %flow.correlation_id, source = %flow.shared.config.source, "managed identity token acquired");
            Ok(result_of(&entry, TokenSource::IdentityProvider, &flow.correlation_id).result)
        })
    }
}
