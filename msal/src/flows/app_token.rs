//! App tokens: the client credentials grant (a daemon or service acting as itself).
//!
//! Cached in the app partition of `(client, tenant)`, with no account and no refresh token;
//! served by the same cache-first pipeline as users' tokens ([`crate::engine::serve`]):
//! expiry buffer, `refresh_in` refreshed in the background, single-flight, the still-valid
//! token served through an outage.

use std::future::IntoFuture;
use std::sync::Arc;

use crate::http::throttle::throttle_key;
use futures::future::BoxFuture;
use msal_cache::{Partition, TokenCache, TokenWrite};
use msal_core::{Authority, ScopeSet};

use crate::client_core::{ClientCore, RefreshKey};
use crate::engine::{cached_result, memo_answer, serve, CachedFlow, Found};
use crate::hit_memo::MemoKey;
use crate::pop::AuthScheme;
use crate::request::{merge_claims, request_options, RequestOptions};
use crate::token_request::{send_throttled, ThrottledRequest};
use crate::write_back::{access_token_entry, cached_target, check_token_type};
use crate::{AuthenticationResult, Error, TokenSource};

/// A client credentials request; set options, then `.await` it.
#[must_use = "a request does nothing until it is awaited"]
pub struct AcquireTokenForClient {
    pub(crate) core: Arc<ClientCore>,
    pub(crate) scopes: Vec<String>,
    pub(crate) options: RequestOptions,
}

request_options!(AcquireTokenForClient);

crate::pop::scheme_setters!(
    AcquireTokenForClient,
    "app: msal::ConfidentialClientApplication",
    "app.acquire_token_for_client([\"https://resource.example/.default\"])",
    "app.acquire_token_for_client([\"https://pas.windows.net/CheckMyAccess/Linux/.default\"])",
    options.auth_scheme
);

impl IntoFuture for AcquireTokenForClient {
    type Output = Result<AuthenticationResult, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            use tracing::Instrument;
            let mut validated_generation = None;
            // The hit memo knows Bearer tokens only.
            if self.options.may_use_cache() && self.options.auth_scheme.is_none() {
                match memoised_app_hit(&self.core, &self.scopes, &self.options).await? {
                    Ok(result) => return Ok(result),
                    Err(generation) => validated_generation = Some(generation),
                }
            }
            let mut flow = AppTokenFlow::new(&self.core, self.scopes, self.options)?;
            flow.validated_generation = validated_generation;
            let flow = Arc::new(flow);
            let span = tracing::debug_span!("acquire_token_for_client", correlation_id = %flow.correlation_id);
            let core = Arc::clone(&self.core);
            let result = serve(self.core, Arc::clone(&flow)).instrument(span).await?;
            crate::pop::finish(flow.scheme.as_ref(), result, core.now_secs())
        })
    }
}

impl std::fmt::Debug for AcquireTokenForClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquireTokenForClient")
            .field("scopes", &self.scopes)
            .field("tenant", &self.options.tenant)
            .field("force_refresh", &self.options.force_refresh)
            .field("claims", &self.options.claims.is_some())
            .field("auth_scheme", &self.options.auth_scheme)
            .finish()
    }
}

/// The hit memo's answer for a plain client credentials request (see [`crate::hit_memo`]), or
/// the generation the store just confirmed for the full path.
async fn memoised_app_hit(
    core: &ClientCore,
    scopes: &[String],
    options: &RequestOptions,
) -> Result<Result<AuthenticationResult, u64>, Error> {
    // The partition the full path will use (`AppTokenFlow::partition`): the request's tenant as
    // the authority keeps it, or the configured one's. An invalid tenant never has a memo entry
    // (its request failed) and fails again on the full path.
    let requested = options
        .tenant
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let tenant = match requested {
        Some(t) => std::borrow::Cow::Owned(t.to_ascii_lowercase()),
        None => std::borrow::Cow::Borrowed(core.authority.tenant().unwrap_or("")),
    };
    let partition = Partition::App {
        client_id: &core.client_id,
        tenant: &tenant,
    };
    let key = MemoKey::App {
        tenant: options.tenant.as_deref(),
        scopes,
    };
    memo_answer(core, partition, &key, options.correlation_id.as_deref()).await
}

/// The authority a confidential request goes to: the configured one, or the same host with
/// the request's tenant.
pub(crate) fn request_authority(
    core: &ClientCore,
    tenant: Option<&str>,
) -> Result<Arc<Authority>, Error> {
    let Some(tenant) = tenant.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(Arc::clone(&core.authority));
    };
    if !crate::tenant_name::is_valid_tenant(tenant) {
        return Err(Error::InvalidArgument(format!(
            "{tenant:?} is not a tenant id or domain name"
        )));
    }
    match core.authority.kind() {
        msal_core::AuthorityKind::Aad | msal_core::AuthorityKind::Ciam => {
            Ok(core.tenant_authority(&tenant.to_ascii_lowercase()))
        }
        _ => Err(Error::InvalidArgument(
            "a per-request tenant needs an Entra ID authority".into(),
        )),
    }
}

/// A normalised client credentials request.
pub(crate) struct AppTokenFlow {
    client_id: String,
    /// The resource scopes: what is sent, cached and matched. The OpenID scopes (`openid`,
    /// `profile`, `offline_access`) mean nothing for an app token and Entra rejects them next to
    /// a `/.default` scope, so they are dropped even when the caller gives them.
    match_scopes: ScopeSet,
    authority: Arc<Authority>,
    tenant: String,
    claims: Option<String>,
    bypass_cache: bool,
    correlation_id: String,
    /// The scopes and tenant exactly as the caller gave them (the hit memo's key).
    raw_scopes: Vec<String>,
    raw_tenant: Option<String>,
    /// The cache generation the store confirmed for this call already (the hit memo asked).
    validated_generation: Option<u64>,
    /// A key-bound scheme (PoP, SSH certificate); `None` for Bearer.
    scheme: Option<AuthScheme>,
    /// The application's and the request's extra query parameters, merged.
    extra_query: crate::extra_query::QueryParams,
}

impl AppTokenFlow {
    fn new(core: &ClientCore, scopes: Vec<String>, options: RequestOptions) -> Result<Self, Error> {
        let bypass_cache = !options.may_use_cache();
        let correlation_id = options
            .correlation_id
            .unwrap_or_else(crate::correlation::new_correlation_id);
        let match_scopes = ScopeSet::parse_request(&scopes)
            .map_err(|e| Error::InvalidArgument(e.to_string()))?
            .without_reserved();
        if match_scopes.is_empty() {
            return Err(Error::InvalidArgument(
                "client credentials need a resource scope, e.g. https://graph.microsoft.com/.default"
                    .into(),
            ));
        }
        let authority = request_authority(core, options.tenant.as_deref())?;
        if authority.is_multi_tenant() {
            return Err(Error::InvalidArgument(
                "client credentials need a tenant: configure a tenanted authority or set the request's tenant (common and organizations name no tenant to issue an app token in)".into(),
            ));
        }
        let claims = merge_claims(options.claims.as_deref(), &core.client_capabilities)?;
        let scheme = crate::pop::resolve(options.auth_scheme)?;
        let extra_query = crate::extra_query::merge(&core.extra_query, &options.extra_query)?;
        Ok(AppTokenFlow {
            scheme,
            extra_query,
            raw_scopes: scopes,
            bypass_cache,
            raw_tenant: options.tenant,
            validated_generation: None,
            client_id: core.client_id.clone(),
            tenant: authority.tenant().unwrap_or("").to_owned(),
            match_scopes,
            authority,
            claims,
            correlation_id,
        })
    }
}

/// The regional token endpoint (ESTS-R) for `region`: `{region}.login.microsoft.com` for the
/// public cloud's hosts, `{region}.{host}` for the others.
pub(crate) fn regional_token_endpoint(endpoint: &url::Url, region: &str) -> Option<url::Url> {
    let host = endpoint.host_str()?;
    let regional_host = match host {
        "login.microsoftonline.com"
        | "login.windows.net"
        | "login.microsoft.com"
        | "sts.windows.net" => format!("{region}.login.microsoft.com"),
        _ => format!("{region}.{host}"),
    };
    let mut regional = endpoint.clone();
    regional.set_host(Some(&regional_host)).ok()?;
    Some(regional)
}

impl CachedFlow for AppTokenFlow {
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
        if self.scheme.is_some() {
            return;
        }
        core.cache.memo.put(
            generation,
            &MemoKey::App {
                tenant: self.raw_tenant.as_deref(),
                scopes: &self.raw_scopes,
            },
            found.expires_on,
            found.refresh_on,
            Arc::clone(found.result.token_data()),
        );
    }

    fn partition(&self) -> Partition<'_> {
        Partition::App {
            client_id: &self.client_id,
            tenant: &self.tenant,
        }
    }

    fn find(&self, core: &ClientCore, cache: &TokenCache) -> Option<Found> {
        let query = core.accountless_query(
            self.authority.environment(),
            &self.tenant,
            &self.match_scopes,
        );
        let entry = crate::pop::find_access_token(cache, &query, self.scheme.as_ref())?;
        Some(cached_result(entry, None, None, &self.correlation_id))
    }

    fn refresh_key(&self) -> RefreshKey {
        // A key-bound request never shares a refresh with a Bearer one or another key's.
        let home_account_id = match &self.scheme {
            None => "app".into(),
            Some(s) => format!("app {}", s.key_part()),
        };
        RefreshKey {
            home_account_id,
            authority: self.authority.canonical_url(),
            scopes: self.match_scopes.to_target().to_ascii_lowercase(),
            claims: self.claims.clone(),
            bypass_cache: self.bypass_cache,
        }
    }

    fn acquire(
        core: Arc<ClientCore>,
        flow: Arc<Self>,
        _cache: Arc<TokenCache>,
    ) -> BoxFuture<'static, Result<AuthenticationResult, Error>> {
        Box::pin(async move {
            let endpoints = core
                .endpoints_for(&flow.authority, &flow.correlation_id)
                .await?;
            // Only Entra has regional endpoints: other kinds never detect a region.
            let region = match flow.authority.kind() {
                msal_core::AuthorityKind::Aad => core.azure_region().await,
                _ => None,
            };
            let token_endpoint = match region.as_deref() {
                Some(region) => regional_token_endpoint(&endpoints.token, region)
                    .unwrap_or_else(|| endpoints.token.clone()),
                None => endpoints.token.clone(),
            };
            let scope = flow.match_scopes.to_target();
            let mut form: Vec<(&str, &str)> = vec![
                ("client_id", &core.client_id),
                ("grant_type", "client_credentials"),
                ("scope", &scope),
            ];
            if let Some(claims) = &flow.claims {
                form.push(("claims", claims));
            }
            let scheme_fields = crate::pop::form_fields(flow.scheme.as_ref());
            form.extend(scheme_fields.iter().map(|(k, v)| (*k, v.as_str())));
            let authority = flow.authority.canonical_url();
            let mut key_parts = vec![&*core.client_id, &*authority, &*scope, "app"];
            if let Some(scheme) = &flow.scheme {
                key_parts.push(scheme.key_id());
            }
            let strict_key = throttle_key(&key_parts);
            let tokens = send_throttled(
                &core,
                ThrottledRequest {
                    token_endpoint: &token_endpoint,
                    form: &form,
                    correlation_id: &flow.correlation_id,
                    anchor_mailbox: None,
                    strict_key,
                    ui_key: None,
                    single_use: false,
                    extra_query: &flow.extra_query,
                },
            )
            .await?;
            check_token_type(&tokens, flow.scheme.as_ref())?;

            let now = core.now_secs();
            let target = cached_target(&tokens, &flow.match_scopes);
            let mut entry = access_token_entry(
                &core,
                None,
                flow.authority.environment(),
                &flow.tenant,
                &tokens,
                &target,
                now,
            );
            if let Some(scheme) = &flow.scheme {
                scheme.bind_entry(&mut entry);
            }
            let write = TokenWrite {
                access_token: Some(entry.clone()),
                ..TokenWrite::default()
            };
            core.cache
                .write(flow.partition(), |c| c.apply(&write))
                .await?;
            tracing::debug!(correlation_id = %flow.correlation_id, "app token acquired");
            let mut found = cached_result(&entry, None, None, &flow.correlation_id);
            found.result.source = TokenSource::IdentityProvider;
            Ok(found.result)
        })
    }
}
