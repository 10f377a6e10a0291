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

use futures::future::BoxFuture;
use msal_cache::schema::RefreshTokenEntry;
use msal_cache::{AccessTokenQuery, Partition, RedeemedRefreshToken, TokenCache, TokenWrite};
use msal_core::{Authority, TokenResponse};

use crate::client_core::{ClientCore, RefreshKey, MAX_PLAUSIBLE_LIFETIME};
use crate::engine::{cached_result, memo_answer, serve, CachedFlow, Found};
use crate::error::UiRequiredReason;
use crate::flows::refresh_redemption::{
    begin_single_use_redemption, end_single_use_redemption, redeem_refresh_token,
    single_use_refresh_tokens,
};
use crate::flows::silent_params::{normalise, SilentInput, SilentParams};
use crate::flows::tenant::{memo_tenant, tenant_account_entry};
use crate::hit_memo::MemoKey;
use crate::write_back::{
    cached_target, check_response_for, identity_provider_result, realm_for, token_entries,
    Placement,
};
use crate::{AuthenticationResult, Error};

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
        // own account value, which the memo's key does not capture. Bearer tokens only.
        if found.account_cached && self.scheme.is_none() {
            core.cache.memo.put(
                generation,
                &MemoKey::User {
                    account: &self.account,
                    scopes: &self.raw_scopes,
                    tenant: self.memo_tenant.as_deref(),
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
            scopes: match &self.scheme {
                None => self.match_scopes.to_target().to_ascii_lowercase(),
                Some(s) => format!(
                    "{} {}",
                    self.match_scopes.to_target().to_ascii_lowercase(),
                    s.key_part()
                ),
            },
            claims: self.claims.clone(),
            bypass_cache: self.bypass_cache,
        }
    }

    fn acquire(
        core: Arc<ClientCore>,
        flow: Arc<Self>,
        cache: Arc<TokenCache>,
    ) -> BoxFuture<'static, Result<AuthenticationResult, Error>> {
        Box::pin(refresh(core, flow, cache))
    }
}

pub(crate) async fn acquire_token_silent(
    core: &Arc<ClientCore>,
    input: SilentInput<'_>,
) -> Result<AuthenticationResult, Error> {
    use tracing::Instrument;
    let mut validated_generation = None;
    // Bad extra parameters fail every call, a cache hit too (the application's were checked
    // when it was built).
    if !input.extra_query.is_empty() {
        crate::extra_query::validate(&input.extra_query)?;
    }
    // The hit memo is keyed by account and scopes only: a request for another B2C policy
    // takes the full path (which also validates the policy).
    if input.may_use_cache() && input.policy.is_none() {
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
    let partition = core.user_partition(&input.account.home_account_id);
    let key = MemoKey::User {
        account: input.account,
        scopes: &input.scopes,
        tenant: memo_tenant(input.tenant.as_deref()),
    };
    memo_answer(core, partition, &key, input.correlation_id.as_deref()).await
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
        // Caches written by MSAL Python keep `common`/`organizations` as the realm: they are
        // the home tenant's, never served for a tenant the caller named.
        (core.authority.is_multi_tenant() && !params.tenant_override)
            .then(|| core.authority.tenant().unwrap_or("")),
    ];
    let (realm, entry) = realms
        .iter()
        .flatten()
        .filter_map(|realm| {
            let query = AccessTokenQuery {
                home_account_id: Some(&params.account.home_account_id),
                environment,
                client_id: &core.client_id,
                realm,
                scopes: &params.match_scopes,
                max_expires_on,
            };
            crate::pop::find_access_token(cache, &query, params.scheme.as_ref())
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
    let cached_account = cache.account_for_client(
        &params.account.home_account_id,
        environment,
        &core.client_id,
    );
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

/// The refresh itself, under the refresh lock (see [`crate::engine`]).
async fn refresh(
    core: Arc<ClientCore>,
    params: Arc<SilentParams>,
    cache: Arc<TokenCache>,
) -> Result<AuthenticationResult, Error> {
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

    let single_use = single_use_refresh_tokens(params.authority(&core));
    let mut family_error = None;
    for rt in &candidates {
        if single_use {
            begin_single_use_redemption(&core, &params, rt).await?;
        }
        let redeemed = redeem_refresh_token(&core, &endpoints, &params, rt, single_use).await;
        if single_use {
            end_single_use_redemption(&core, &params, rt, &redeemed).await?;
        }
        match redeemed {
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
        redeemed_secret_fingerprint: msal_cache::index::secret_fingerprint(
            redeemed.secret.expose_secret(),
        ),
        new_secret: tokens.refresh_token.clone(),
        now,
        family_id: tokens.foci.clone(),
    };

    // The response must be for this account and well formed. If it is not, the refresh token
    // it carries is still saved (the one we redeemed may be single-use), nothing else is.
    let checked = check_response_for(&tokens, params.scheme.as_ref()).and_then(|c| {
        match &c.client_info_home_account_id {
            Some(h) if !h.eq_ignore_ascii_case(&params.account.home_account_id) => {
                Err(Error::UserMismatch)
            }
            _ => Ok(c),
        }
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
    let realm = if params.tenant_override {
        // MSAL.NET's rule: a tenanted request caches under its tenant as given, so that the
        // next request naming it (a domain name too) finds it.
        params.authority(core).tenant().unwrap_or("").to_owned()
    } else {
        realm_for(core, params.authority(core), checked.claims.as_ref())
    };
    let target = cached_target(&tokens, &params.requested);
    let place = Placement {
        home_account_id: &hid,
        environment: &environment,
        realm: &realm,
    };
    let (mut access_token, id_token, app_metadata) =
        token_entries(core, &place, &tokens, &target, now);
    if let Some(scheme) = &params.scheme {
        scheme.bind_entry(&mut access_token);
    }
    // A named tenant's first token also writes the account's entry for that tenant, as MSAL.NET
    // does, so the tenant appears in the account's tenant profiles. Only when it is missing:
    // an existing entry (the sign-in's) keeps what it records.
    let tenant_account = params
        .tenant_override
        .then(|| {
            id_token
                .as_ref()
                .and(tenant_account_entry(&hid, &environment, &realm, &checked))
        })
        .flatten();
    let mut write = TokenWrite {
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
            write.account = tenant_account
                .clone()
                .filter(|_| !c.has_account_entry(&hid, &environment, &realm));
            let applied = c.apply(&write);
            (
                applied,
                c.account_for_client(&hid, &environment, &core.client_id),
            )
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
    )
    .acquired_by(crate::Acquisition::Refresh))
}
