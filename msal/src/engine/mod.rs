//! The cache-first engine every cached flow runs on: a user's silent call, an app token, an
//! on-behalf-of token (and, next, managed identity). A flow ([`CachedFlow`]) says where its
//! token is cached, how to find it and how to get a new one; [`serve`] does the rest, in
//! order:
//!
//! 1. Unless the request bypasses the cache (force_refresh, claims): look the access token up.
//!    Its [`Freshness`] decides: fresh → returned at once (and remembered by the hit memo);
//!    `refresh_on` passed → returned, with one background refresh; inside the expiry buffer →
//!    kept as the fallback; expired → ignored.
//! 2. Otherwise join or start the single-flight refresh for the flow's [`RefreshKey`]. Inside
//!    it (the flow's `acquire`): take the store's cross-process refresh lock
//!    ([`refresh_lock`]), re-check the cache ([`cached_after_lock`]: a refresh that just
//!    finished, here or in another process, may have served us), then ask the identity
//!    provider and write the answer back.
//! 3. With a fallback in hand, wait for the refresh at most `max_refresh_wait`, then serve
//!    the fallback while the refresh finishes in the background. A refresh that fails
//!    transiently ([`Error::is_transient`]) also serves the fallback; a permanent failure is
//!    returned.
//!
//! The hit memo's shortcut ([`memo_answer`]) answers a repeated identical request before any
//! of this, under the same freshness rule.

mod freshness;
pub(crate) mod refresh_lock;

use std::sync::Arc;

use futures::future::BoxFuture;
use msal_cache::schema::AccessTokenEntry;
use msal_cache::{Partition, TokenCache};
use msal_core::clock::from_unix_seconds;
use msal_core::SharedSecret;

use crate::client_core::{ClientCore, RefreshKey};
use crate::events::Event;
use crate::hit_memo::MemoKey;
use crate::result::TokenData;
use crate::{AuthenticationResult, Error, TokenSource};

pub(crate) use freshness::{freshness, Freshness};
use refresh_lock::take_refresh_lock;

/// A cached access token found for a request.
pub(crate) struct Found {
    pub expires_on: u64,
    pub refresh_on: Option<u64>,
    pub result: AuthenticationResult,
    /// Whether the result's account is the cache's (not the caller's value echoed back).
    pub account_cached: bool,
}

impl Found {
    /// How fresh the token is now (see [`freshness`]).
    pub(crate) fn freshness(&self, core: &ClientCore) -> Freshness {
        freshness(
            self.expires_on,
            self.refresh_on,
            core.now_secs(),
            core.expiry_buffer,
        )
    }
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
    /// Obtain a new token and cache it. Runs inside the single-flight task, under the store's
    /// refresh lock, after [`cached_after_lock`] found no fresh token in `cache` (the snapshot
    /// it read): the engine takes the lock and re-checks for every flow (see [`locked_acquire`]).
    fn acquire(
        core: Arc<ClientCore>,
        flow: Arc<Self>,
        cache: Arc<TokenCache>,
    ) -> BoxFuture<'static, Result<AuthenticationResult, Error>>;
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
    if freshness(expires_on, refresh_on, core.now_secs(), core.expiry_buffer) != Freshness::Fresh {
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
            match found.freshness(&core) {
                Freshness::Fresh => {
                    flow.remember(&core, generation, &found);
                    tracing::debug!(correlation_id = %flow.correlation_id(), "access token served from the cache");
                    return Ok(found.result);
                }
                Freshness::RefreshDue => {
                    start_background_refresh(&core, &flow);
                    tracing::debug!(correlation_id = %flow.correlation_id(), "access token served from the cache");
                    return Ok(found.result);
                }
                Freshness::InBuffer => fallback = Some(found.result),
                Freshness::Expired => {}
            }
        }
    }

    let (future, joined) = core.flights.run(flow.refresh_key(), {
        let (core, flow) = (Arc::clone(&core), Arc::clone(&flow));
        move || locked_acquire(core, flow)
    });
    if joined {
        tracing::debug!(correlation_id = %flow.correlation_id(), "joined a refresh already in flight");
    }
    let Some(cached) = fallback else {
        return future.await;
    };
    // A token that still works is in hand: wait for the refresh only so long, then serve the
    // cached token while the refresh (a spawned task) finishes in the background. This timeout
    // races real work, so it stays on Tokio's timer, not the app's `Clock`.
    let outcome = if tokio::runtime::Handle::try_current().is_ok() {
        match tokio::time::timeout(core.max_refresh_wait, future).await {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::warn!(correlation_id = %flow.correlation_id(), "refresh still running after {:?}; serving the cached token, which has not expired yet", core.max_refresh_wait);
                stale_token_served(&core, &cached, true, || {
                    format!(
                        "the refresh is still running after {} s",
                        core.max_refresh_wait.as_secs()
                    )
                });
                return Ok(cached);
            }
        }
    } else {
        future.await
    };
    match outcome {
        Ok(result) => Ok(result),
        // Only a transient fault (see `Error::is_transient`: the network, a timeout, 5xx, 429,
        // an answer that is not the identity provider's, another process still refreshing)
        // leaves the caller with the token that still works. A permanent answer (an OAuth
        // error such as `invalid_client` or `invalid_scope`, "interaction required", a user
        // mismatch) is reported at once, as MSAL Python does: serving the old token would
        // hide a misconfigured or disabled app until the token runs out.
        Err(e) if e.is_transient() => {
            tracing::warn!(correlation_id = %flow.correlation_id(), error = %e, "refresh failed; serving the cached token, which has not expired yet");
            stale_token_served(&core, &cached, false, || e.to_string());
            Ok(cached)
        }
        Err(e) => Err(e),
    }
}

/// Tell the app's observer that `cached`, inside the expiry buffer, is served because of
/// `reason` (see [`Event::StaleTokenServed`]).
fn stale_token_served(
    core: &ClientCore,
    cached: &AuthenticationResult,
    refresh_still_running: bool,
    reason: impl FnOnce() -> String,
) {
    core.events.emit(|| Event::StaleTokenServed {
        expires_on: cached.expires_on(),
        reason: reason(),
        refresh_still_running,
    });
}

/// Start a refresh in the background (at most one per key); its failure is only logged.
fn start_background_refresh<F: CachedFlow>(core: &Arc<ClientCore>, flow: &Arc<F>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::debug!("refresh_on passed but no Tokio runtime runs background work; the cached token is served until it nears expiry");
        return;
    };
    let (future, joined) = core.flights.run(flow.refresh_key(), {
        let (core, flow) = (Arc::clone(core), Arc::clone(flow));
        move || locked_acquire(core, flow)
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

/// The single-flight task of every flow: take the store's cross-process refresh lock (held until
/// the new token is saved, so another process needing the same refresh waits and then finds it
/// instead of redeeming the same grant), re-check the cache, and only then let the flow obtain
/// a new token.
fn locked_acquire<F: CachedFlow>(
    core: Arc<ClientCore>,
    flow: Arc<F>,
) -> BoxFuture<'static, Result<AuthenticationResult, Error>> {
    Box::pin(async move {
        let _refresh_lock =
            take_refresh_lock(&core, flow.partition(), flow.correlation_id()).await?;
        let (cache, served) = cached_after_lock(&core, &*flow).await?;
        if let Some(result) = served {
            return Ok(result);
        }
        F::acquire(core, flow, cache).await
    })
}

/// Under the refresh lock: whether a refresh that just finished (here or in another process)
/// already cached a token that serves this request without a new one.
async fn cached_after_lock<F: CachedFlow>(
    core: &ClientCore,
    flow: &F,
) -> Result<(Arc<TokenCache>, Option<AuthenticationResult>), Error> {
    let cache = core.cache.snapshot(flow.partition()).await?;
    if !flow.bypass_cache() {
        if let Some(found) = flow.find(core, &cache) {
            if found.freshness(core) == Freshness::Fresh {
                return Ok((cache, Some(found.result)));
            }
        }
    }
    Ok((cache, None))
}

/// The result of a cached access token.
pub(crate) fn cached_result(
    entry: &AccessTokenEntry,
    account: Option<msal_core::Account>,
    id_token: Option<SharedSecret>,
    correlation_id: &str,
) -> Found {
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
                // As cached: msal-rs writes targets sorted, deduplicated and separated by single
                // spaces, so this costs no parse (and no Unicode whitespace tables).
                scopes: entry
                    .target
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                account,
                id_token,
                tenant_id: Some(entry.realm.clone()).filter(|r| !r.is_empty()),
            }),
            TokenSource::Cache,
            correlation_id.to_owned(),
        ),
        account_cached: false,
    }
}
