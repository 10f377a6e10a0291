//! The silent-first pipeline. A call does, in order:
//!
//! 1. Normalise the request: scopes (reserved OpenID scopes removed for matching), account,
//!    claims merged with client capabilities, force_refresh.
//! 2. Unless force_refresh or claims: look the access token up in the cache (one bucket probe
//!    per candidate realm, then a subset test on a handful of entries). One that is valid for
//!    longer than the expiry buffer is returned at once; if its `refresh_on` has passed, one
//!    background refresh for it starts too.
//! 3. Otherwise join or start the single-flight refresh for (account, authority, scopes,
//!    claims). Inside it: take the store's cross-process refresh lock, re-check the cache (a
//!    refresh that just finished, here or in another process, may have served us), pick refresh
//!    tokens in FOCI order, check the throttle table, redeem, classify.
//! 4. Write back through the cache store in one read-modify-write: rotate the refresh token in
//!    place, drop access tokens whose scopes intersect the new one, upsert the new access token,
//!    ID token and app metadata.
//! 5. Build the [`AuthenticationResult`].
//!
//! When the refresh fails (network, 5xx, throttling, a malformed answer: anything but
//! "interaction required" or a user mismatch), or hangs for longer than `max_refresh_wait`, and
//! the cached access token has not actually expired yet (it is only inside the buffer), that
//! token is returned instead: a fault should not break an app holding a token that still works. A hanging refresh goes on in the background and lands in
//! the cache when it completes.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use msal_cache::schema::RefreshTokenEntry;
use msal_cache::{
    AccessTokenQuery, Partition, RedeemedRefreshToken, RefreshLock, TokenCache, TokenWrite,
};
use msal_core::{Account, Authority, ScopeSet, TokenResponse};

use crate::app_token::cached_result;
use crate::client_core::{ClientCore, RefreshKey, MAX_PLAUSIBLE_LIFETIME};
use crate::error::UiRequiredReason;
use crate::hit_memo::MemoKey;
use crate::token_request::redeem_refresh_token;
use crate::write_back::{
    cached_target, check_response, identity_provider_result, realm_for, token_entries, Placement,
};
use crate::{AuthenticationResult, Error, TokenSource};

/// A normalised silent request.
pub(crate) struct SilentParams {
    /// The scopes exactly as the caller gave them (the hit memo's key).
    pub raw_scopes: Vec<String>,
    /// The scopes as requested (reserved ones included if the caller gave them).
    pub requested: ScopeSet,
    /// The scopes cached tokens are matched on: requested minus reserved.
    pub match_scopes: ScopeSet,
    pub account: Account,
    /// The authority, when not the configured one (see [`SilentParams::authority`]).
    pub tenant_authority: Option<Arc<Authority>>,
    /// Claims to send (the caller's, merged with client capabilities).
    pub claims: Option<String>,
    /// Skip the access-token lookup (force_refresh, or a claims challenge from the caller).
    pub bypass_cache: bool,
    pub correlation_id: String,
    /// Whether the account's tokens are in a partition of their own (confidential clients).
    pub own_partition: bool,
    /// The cache generation the store confirmed for this call already (the hit memo asked).
    pub validated_generation: Option<u64>,
}

impl SilentParams {
    /// The authority the request goes to.
    pub(crate) fn authority<'a>(&'a self, core: &'a ClientCore) -> &'a Authority {
        self.tenant_authority.as_deref().unwrap_or(&core.authority)
    }

    /// Where the account's tokens are cached.
    pub(crate) fn cache_partition(&self) -> Partition<'_> {
        if self.own_partition {
            Partition::Account(&self.account.home_account_id)
        } else {
            Partition::All
        }
    }
}

/// The raw inputs of a silent request, as the request builder collected them.
pub(crate) struct SilentInput<'a> {
    pub scopes: Vec<String>,
    pub account: &'a Account,
    pub force_refresh: bool,
    pub claims: Option<String>,
    pub correlation_id: Option<String>,
}

impl SilentInput<'_> {
    /// Whether the cached token may be served: no force_refresh, no claims challenge.
    fn may_use_cache(&self) -> bool {
        !self.force_refresh && self.claims.as_deref().is_none_or(|c| c.trim().is_empty())
    }
}

pub(crate) fn normalise(core: &ClientCore, input: SilentInput<'_>) -> Result<SilentParams, Error> {
    let bypass_cache = !input.may_use_cache();
    let correlation_id = input
        .correlation_id
        .unwrap_or_else(crate::correlation::new_correlation_id);
    let requested = ScopeSet::parse_request(&input.scopes)
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let match_scopes = requested.without_reserved();
    if match_scopes.is_empty() {
        return Err(Error::InvalidArgument(
            "at least one scope besides openid, profile and offline_access is required".into(),
        ));
    }
    if input.account.home_account_id.is_empty() {
        return Err(Error::ui_required(
            UiRequiredReason::NoAccount,
            Some(&correlation_id),
        ));
    }
    let claims = merge_claims(input.claims.as_deref(), &core.client_capabilities)?;
    Ok(SilentParams {
        bypass_cache,
        raw_scopes: input.scopes,
        requested,
        match_scopes,
        tenant_authority: core.request_authority(input.account),
        account: input.account.clone(),
        claims,
        correlation_id,
        own_partition: core.is_confidential(),
        validated_generation: None,
    })
}

/// Merge a claims request with client capabilities (`xms_cc`), as every MSAL does.
/// Capabilities alone do not bypass the cache.
pub(crate) fn merge_claims(
    claims: Option<&str>,
    capabilities: &[String],
) -> Result<Option<String>, Error> {
    let claims = claims.filter(|c| !c.trim().is_empty());
    if claims.is_none() && capabilities.is_empty() {
        return Ok(None);
    }
    let bad = || Error::InvalidArgument("claims must be a JSON object".into());
    let mut value: serde_json::Value = match claims {
        Some(c) => serde_json::from_str(c).map_err(|_| bad())?,
        None => serde_json::json!({}),
    };
    let object = value.as_object_mut().ok_or_else(bad)?;
    if !capabilities.is_empty() {
        let access_token = object
            .entry("access_token")
            .or_insert_with(|| serde_json::json!({}));
        let access_token = access_token.as_object_mut().ok_or_else(bad)?;
        access_token.insert(
            "xms_cc".into(),
            serde_json::json!({ "values": capabilities }),
        );
    }
    Ok(Some(value.to_string()))
}

/// A cached access token found for a request.
pub(crate) struct Found {
    pub expires_on: u64,
    pub refresh_on: Option<u64>,
    pub result: AuthenticationResult,
    /// Whether the result's account is the cache's (not the caller's value echoed back).
    pub account_cached: bool,
}

/// A token request served cache-first: a user's silent call, an app token, an on-behalf-of
/// token. [`serve`] runs the part they share (lookup, expiry buffer, proactive refresh,
/// single-flight, falling back to a still-valid token); each flow says where its token is
/// cached and how a new one is obtained.
pub(crate) trait CachedFlow: Send + Sync + Sized + 'static {
    fn correlation_id(&self) -> &str;
    /// Skip the cached token (force_refresh, a claims challenge).
    fn bypass_cache(&self) -> bool;
    /// A cache generation the store confirmed for this call already, if any.
    fn validated_generation(&self) -> Option<u64> {
        None
    }
    /// The cache partition the token lives in.
    fn partition(&self) -> Partition<'_>;
    /// The usable cached token, if any (expiry against now is decided by the caller).
    fn find(&self, core: &ClientCore, cache: &TokenCache) -> Option<Found>;
    /// Requests with equal keys share one network call.
    fn refresh_key(&self) -> RefreshKey;
    /// A cached token found for this request in cache generation `generation` is about to be
    /// served: remember it for the next identical request (see [`crate::hit_memo`]).
    fn remember(&self, _core: &ClientCore, _generation: u64, _found: &Found) {}
    /// Obtain a new token and cache it: runs as the single-flight task.
    fn acquire(
        core: Arc<ClientCore>,
        flow: Arc<Self>,
    ) -> BoxFuture<'static, Result<AuthenticationResult, Error>>;
}

impl CachedFlow for SilentParams {
    fn correlation_id(&self) -> &str {
        &self.correlation_id
    }

    fn bypass_cache(&self) -> bool {
        self.bypass_cache
    }

    fn validated_generation(&self) -> Option<u64> {
        self.validated_generation
    }

    fn partition(&self) -> Partition<'_> {
        self.cache_partition()
    }

    fn find(&self, core: &ClientCore, cache: &TokenCache) -> Option<Found> {
        find_access_token(core, cache, self)
    }

    fn remember(&self, core: &ClientCore, generation: u64, found: &Found) {
        // Only when the result's account came from the cache: otherwise it is the caller's
        // own account value, which the memo's key does not capture.
        if found.account_cached {
            core.cache.memo.put(
                generation,
                &MemoKey::User {
                    account: &self.account,
                    scopes: &self.raw_scopes,
                },
                found.expires_on,
                found.refresh_on,
                Arc::clone(found.result.token_data()),
            );
        }
    }

    fn refresh_key(&self) -> RefreshKey {
        RefreshKey {
            home_account_id: self.account.home_account_id.to_ascii_lowercase(),
            authority: self
                .tenant_authority
                .as_deref()
                .map(Authority::canonical_url)
                // Empty: the configured authority (the map belongs to this app alone).
                .unwrap_or_default(),
            scopes: self.match_scopes.to_target().to_ascii_lowercase(),
            claims: self.claims.clone(),
            bypass_cache: self.bypass_cache,
        }
    }

    fn acquire(
        core: Arc<ClientCore>,
        flow: Arc<Self>,
    ) -> BoxFuture<'static, Result<AuthenticationResult, Error>> {
        Box::pin(refresh(core, flow))
    }
}

pub(crate) async fn acquire_token_silent(
    core: &Arc<ClientCore>,
    input: SilentInput<'_>,
) -> Result<AuthenticationResult, Error> {
    use tracing::Instrument;
    let mut validated_generation = None;
    if input.may_use_cache() {
        match memoised_hit(core, &input).await? {
            Ok(result) => return Ok(result),
            Err(generation) => validated_generation = Some(generation),
        }
    }
    let mut params = normalise(core, input)?;
    params.validated_generation = validated_generation;
    let params = Arc::new(params);
    let span =
        tracing::debug_span!("acquire_token_silent", correlation_id = %params.correlation_id);
    serve(Arc::clone(core), params).instrument(span).await
}

/// The hit memo's answer for a plain request whose token is fresh (see
/// [`crate::hit_memo`]). Otherwise the cache generation the store just confirmed, which the
/// full path then uses without asking the store again.
async fn memoised_hit(
    core: &ClientCore,
    input: &SilentInput<'_>,
) -> Result<Result<AuthenticationResult, u64>, Error> {
    let partition = if core.is_confidential() {
        Partition::Account(&input.account.home_account_id)
    } else {
        Partition::All
    };
    let key = MemoKey::User {
        account: input.account,
        scopes: &input.scopes,
    };
    memo_answer(core, partition, &key, input.correlation_id.as_deref()).await
}

/// The memo's answer for `key` in `partition` (see [`crate::hit_memo`]): a result when its
/// entry is current and its token fresh (not inside the expiry buffer, `refresh_on` not
/// passed); otherwise the generation the store just confirmed, for the full path.
pub(crate) async fn memo_answer(
    core: &ClientCore,
    partition: Partition<'_>,
    key: &MemoKey<'_>,
    correlation_id: Option<&str>,
) -> Result<Result<AuthenticationResult, u64>, Error> {
    let generation = core.cache.generation(partition).await?;
    let Some((expires_on, refresh_on, token)) = core.cache.memo.get(generation, key) else {
        return Ok(Err(generation));
    };
    let now = core.now_secs();
    if expires_on <= now + core.expiry_buffer.as_secs() || refresh_on.is_some_and(|r| r <= now) {
        return Ok(Err(generation));
    }
    let correlation_id =
        correlation_id.map_or_else(crate::correlation::new_correlation_id, str::to_owned);
    tracing::debug!(%correlation_id, "access token served from the cache");
    Ok(Ok(AuthenticationResult::new(
        token,
        TokenSource::Cache,
        correlation_id,
    )))
}

/// Serve a flow cache-first. See the [module documentation](self).
pub(crate) async fn serve<F: CachedFlow>(
    core: Arc<ClientCore>,
    flow: Arc<F>,
) -> Result<AuthenticationResult, Error> {
    let mut fallback = None;
    if !flow.bypass_cache() {
        let found = core
            .cache
            .read(
                flow.partition(),
                flow.validated_generation(),
                |cache, generation| flow.find(&core, cache).map(|found| (found, generation)),
            )
            .await?;
        if let Some((found, generation)) = found {
            let now = core.now_secs();
            if found.expires_on > now + core.expiry_buffer.as_secs() {
                if found.refresh_on.is_some_and(|r| r <= now) {
                    start_background_refresh(&core, &flow);
                } else {
                    flow.remember(&core, generation, &found);
                }
                tracing::debug!(correlation_id = %flow.correlation_id(), "access token served from the cache");
                return Ok(found.result);
            }
            if found.expires_on > now {
                fallback = Some(found.result);
            }
        }
    }

    let (future, joined) = core.flights.run(flow.refresh_key(), {
        let (core, flow) = (Arc::clone(&core), Arc::clone(&flow));
        move || F::acquire(core, flow)
    });
    if joined {
        tracing::debug!(correlation_id = %flow.correlation_id(), "joined a refresh already in flight");
    }
    let Some(cached) = fallback else {
        return future.await;
    };
    // A token that still works is in hand: wait for the refresh only so long, then serve the
    // cached token while the refresh (a spawned task) finishes in the background.
    let outcome = if tokio::runtime::Handle::try_current().is_ok() {
        match tokio::time::timeout(core.max_refresh_wait, future).await {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::warn!(correlation_id = %flow.correlation_id(), "refresh still running after {:?}; serving the cached token, which has not expired yet", core.max_refresh_wait);
                return Ok(cached);
            }
        }
    } else {
        future.await
    };
    match outcome {
        Ok(result) => Ok(result),
        // "Interaction required" is actionable now (prompt before the token runs out) and a
        // user mismatch is a security signal: those are reported. Anything else (an outage, a
        // captive portal's HTML, a misbehaving proxy) leaves the caller with the token that
        // still works.
        Err(e) if !e.is_ui_required() && !matches!(e, Error::UserMismatch) => {
            tracing::warn!(correlation_id = %flow.correlation_id(), error = %e, "refresh failed; serving the cached token, which has not expired yet");
            Ok(cached)
        }
        Err(e) => Err(e),
    }
}

/// Start a refresh in the background (at most one per key); its failure is only logged.
fn start_background_refresh<F: CachedFlow>(core: &Arc<ClientCore>, flow: &Arc<F>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::debug!("refresh_on passed but no Tokio runtime runs background work; the cached token is served until it nears expiry");
        return;
    };
    let (future, joined) = core.flights.run(flow.refresh_key(), {
        let (core, flow) = (Arc::clone(core), Arc::clone(flow));
        move || F::acquire(core, flow)
    });
    if joined {
        return;
    }
    let correlation_id = flow.correlation_id().to_owned();
    tracing::debug!(%correlation_id, "refresh_on passed: refreshing in the background");
    runtime.spawn(async move {
        if let Err(e) = future.await {
            tracing::warn!(%correlation_id, error = %e, "background refresh failed; the cached token is still served until it expires");
        }
    });
}

/// Under the refresh lock: whether a refresh that just finished (here or in another process)
/// already cached a token that serves this request without a new one.
pub(crate) async fn cached_after_lock<F: CachedFlow>(
    core: &ClientCore,
    flow: &F,
) -> Result<(Arc<TokenCache>, Option<AuthenticationResult>), Error> {
    let cache = core.cache.snapshot(flow.partition()).await?;
    if !flow.bypass_cache() {
        if let Some(found) = flow.find(core, &cache) {
            let now = core.now_secs();
            let fresh = found.expires_on > now + core.expiry_buffer.as_secs()
                && found.refresh_on.is_none_or(|r| r > now);
            if fresh {
                return Ok((cache, Some(found.result)));
            }
        }
    }
    Ok((cache, None))
}

/// Look up the best cached access token for the request.
fn find_access_token(
    core: &ClientCore,
    cache: &TokenCache,
    params: &SilentParams,
) -> Option<Found> {
    let now = core.now_secs();
    let environment = params.authority(core).environment();
    let max_expires_on = now.saturating_add(MAX_PLAUSIBLE_LIFETIME.as_secs());
    let realms = [
        Some(params.authority(core).tenant().unwrap_or("")),
        // Caches written by MSAL Python keep `common`/`organizations` as the realm.
        core.authority
            .is_multi_tenant()
            .then(|| core.authority.tenant().unwrap_or("")),
    ];
    let (realm, entry) = realms
        .iter()
        .flatten()
        .filter_map(|realm| {
            cache
                .find_access_token(&AccessTokenQuery {
                    home_account_id: Some(&params.account.home_account_id),
                    environment,
                    client_id: &core.client_id,
                    realm,
                    scopes: &params.match_scopes,
                    max_expires_on,
                })
                .map(|e| (*realm, e))
        })
        .max_by_key(|(_, e)| e.expires_on)?;
    let id_token = cache
        .id_token(
            &params.account.home_account_id,
            environment,
            &core.client_id,
            realm,
        )
        .map(|t| t.secret.clone());
    let cached_account = cache.account(&params.account.home_account_id, environment);
    let account_cached = cached_account.is_some();
    let mut found = cached_result(
        entry,
        Some(cached_account.unwrap_or_else(|| params.account.clone())),
        id_token,
        &params.correlation_id,
    );
    found.account_cached = account_cached;
    Some(found)
}

/// The refresh itself: runs as the single-flight task.
async fn refresh(
    core: Arc<ClientCore>,
    params: Arc<SilentParams>,
) -> Result<AuthenticationResult, Error> {
    // Held until the new tokens are saved: another process needing the same refresh waits,
    // then finds our result in the cache below instead of redeeming the refresh token again.
    let _refresh_lock =
        take_refresh_lock(&core, params.cache_partition(), &params.correlation_id).await;
    let (cache, served) = cached_after_lock(&core, &*params).await?;
    if let Some(result) = served {
        return Ok(result);
    }
    let candidates = refresh_candidates(&core, &cache, &params);
    drop(cache);
    if candidates.is_empty() {
        return Err(Error::ui_required(
            UiRequiredReason::NoTokens,
            Some(&params.correlation_id),
        ));
    }
    let endpoints = core
        .endpoints_for(params.authority(&core), &params.correlation_id)
        .await?;

    let mut family_error = None;
    for rt in &candidates {
        match redeem_refresh_token(&core, &endpoints, &params, rt).await {
            Ok(tokens) => return save(&core, &params, rt, tokens).await,
            Err(e) if rt.is_family() && !e.is_transient() => {
                // A family token failing (client_mismatch, or revoked) never deletes it and never
                // stops the app's own token from being tried.
                tracing::debug!(correlation_id = %params.correlation_id, error = %e, "family refresh token failed; trying the app's own");
                family_error = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(family_error.unwrap_or_else(|| {
        Error::ui_required(UiRequiredReason::NoTokens, Some(&params.correlation_id))
    }))
}

/// How long a refresh waits for another process's refresh of the same cache: longer than one
/// token request with its retry, after which the holder is presumed stuck.
const REFRESH_LOCK_WAIT: Duration = Duration::from_secs(45);

/// Take the store's cross-process refresh lock. Never fails the call: a lock that cannot be had
/// in time (or at all) only costs the coordination, which is logged.
pub(crate) async fn take_refresh_lock(
    core: &ClientCore,
    partition: Partition<'_>,
    correlation_id: &str,
) -> Option<RefreshLock> {
    let outcome = if tokio::runtime::Handle::try_current().is_ok() {
        match tokio::time::timeout(REFRESH_LOCK_WAIT, core.cache.lock_refresh(partition)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::warn!(%correlation_id, "another process has held the cache's refresh lock for {REFRESH_LOCK_WAIT:?}; refreshing without it");
                return None;
            }
        }
    } else {
        core.cache.lock_refresh(partition).await
    };
    match outcome {
        Ok(lock) => lock,
        Err(e) => {
            tracing::warn!(%correlation_id, error = %e, "could not take the cache's refresh lock; refreshing without it");
            None
        }
    }
}

/// Refresh tokens to try, in MSAL Python's FOCI order: a family token first when the app is a
/// family member or not known yet (no app metadata), then the app's own.
fn refresh_candidates(
    core: &ClientCore,
    cache: &TokenCache,
    params: &SilentParams,
) -> Vec<RefreshTokenEntry> {
    let environment = params.authority(core).environment();
    let tokens = cache.refresh_tokens(&params.account.home_account_id, environment);
    let is_own = |rt: &&&RefreshTokenEntry| rt.client_id.eq_ignore_ascii_case(&core.client_id);
    let family = tokens.iter().find(|rt| {
        rt.is_family()
            && !is_own(rt)
            && cache.is_refresh_token_usable(rt, environment, &core.client_id)
    });
    let own = tokens.iter().find(is_own);
    family
        .into_iter()
        .chain(own)
        .map(|rt| (*rt).clone())
        .collect()
}

/// Write a successful refresh back and build the result.
async fn save(
    core: &ClientCore,
    params: &SilentParams,
    redeemed: &RefreshTokenEntry,
    tokens: TokenResponse,
) -> Result<AuthenticationResult, Error> {
    let now = core.now_secs();
    let hid = params.account.home_account_id.clone();
    let rotation = RedeemedRefreshToken {
        home_account_id: redeemed.home_account_id.clone(),
        environment: redeemed.environment.clone(),
        client_or_family: redeemed
            .family_id
            .clone()
            .unwrap_or_else(|| redeemed.client_id.clone()),
        redeemed_secret_fingerprint: msal_cache::index::secret_fingerprint(&redeemed.secret),
        new_secret: tokens.refresh_token.clone(),
        now,
        family_id: tokens.foci.clone(),
    };

    // The response must be for this account and well formed. If it is not, the refresh token
    // it carries is still saved (the one we redeemed may be single-use), nothing else is.
    let checked = check_response(&tokens).and_then(|c| match &c.client_info_home_account_id {
        Some(h) if !h.eq_ignore_ascii_case(&params.account.home_account_id) => {
            Err(Error::UserMismatch)
        }
        _ => Ok(c),
    });
    let checked = match checked {
        Ok(checked) => checked,
        Err(e @ Error::UserMismatch) => return Err(e),
        Err(e) => {
            let rotate_only = TokenWrite {
                redeemed_refresh_token: Some(rotation),
                ..TokenWrite::default()
            };
            core.cache
                .write(core.user_partition(&hid), |c| c.apply(&rotate_only))
                .await?;
            return Err(e);
        }
    };

    let environment = params.authority(core).environment().to_owned();
    let realm = realm_for(core, params.authority(core), checked.claims.as_ref());
    let target = cached_target(&tokens, &params.requested);
    let place = Placement {
        home_account_id: &hid,
        environment: &environment,
        realm: &realm,
    };
    let (access_token, id_token, app_metadata) = token_entries(core, &place, &tokens, &target, now);
    let write = TokenWrite {
        redeemed_refresh_token: Some(rotation),
        access_token: Some(access_token.clone()),
        refresh_token: None,
        id_token,
        account: None,
        app_metadata: Some(app_metadata),
    };
    let (applied, account) = core
        .cache
        .write(core.user_partition(&hid), |c| {
            let applied = c.apply(&write);
            (applied, c.account(&hid, &environment))
        })
        .await?;
    if !applied {
        // The account was removed while we were refreshing: do not undo the sign-out.
        return Err(Error::ui_required(
            UiRequiredReason::NoAccount,
            Some(&params.correlation_id),
        ));
    }
    tracing::debug!(correlation_id = %params.correlation_id, "access token refreshed");
    let account = account.unwrap_or_else(|| params.account.clone());
    Ok(identity_provider_result(
        tokens,
        &access_token,
        &target,
        account,
        &params.correlation_id,
    ))
}
