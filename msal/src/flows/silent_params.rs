//! A silent request, normalised: what the silent flow ([`crate::flows::user_silent`]) and the
//! refresh-token redemption ([`crate::flows::refresh_redemption`]) both read. Its own module
//! so that those two do not import each other.

use std::sync::Arc;

use msal_cache::Partition;
use msal_core::{Account, Authority, ScopeSet};

use crate::client_core::{user_partition, ClientCore};
use crate::error::UiRequiredReason;
use crate::flows::tenant::{explicit_tenant, memo_tenant};
use crate::pop::AuthScheme;
use crate::request::{may_use_cache, merge_claims};
use crate::Error;

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
    /// Whether the caller named the tenant (`.tenant(..)`): then only that tenant's tokens are
    /// served, and new ones are cached under the tenant as given (MSAL.NET's rule).
    pub tenant_override: bool,
    /// The tenant as the hit memo keys it (see [`memo_tenant`]).
    pub memo_tenant: Option<String>,
    /// Claims to send (the caller's, merged with client capabilities).
    pub claims: Option<String>,
    /// Skip the access-token lookup (force_refresh, or a claims challenge from the caller).
    pub bypass_cache: bool,
    pub correlation_id: String,
    /// Whether the account's tokens are in a partition of their own (confidential clients).
    pub own_partition: bool,
    /// The cache generation the store confirmed for this call already (the hit memo asked).
    pub validated_generation: Option<u64>,
    /// A key-bound scheme (SSH certificate); `None` for Bearer.
    pub scheme: Option<AuthScheme>,
    /// The application's and the request's extra query parameters, merged.
    pub extra_query: crate::extra_query::QueryParams,
}

impl SilentParams {
    /// The authority the request goes to.
    pub(crate) fn authority<'a>(&'a self, core: &'a ClientCore) -> &'a Authority {
        self.tenant_authority.as_deref().unwrap_or(&core.authority)
    }

    /// Where the account's tokens are cached.
    pub(crate) fn cache_partition(&self) -> Partition<'_> {
        user_partition(self.own_partition, &self.account.home_account_id)
    }
}

/// The raw inputs of a silent request, as the request builder collected them.
pub(crate) struct SilentInput<'a> {
    pub scopes: Vec<String>,
    pub account: &'a Account,
    pub force_refresh: bool,
    pub claims: Option<String>,
    pub correlation_id: Option<String>,
    /// A B2C policy (user flow) for this request instead of the configured one.
    pub policy: Option<String>,
    /// The request's extra query parameters (see [`crate::extra_query`]).
    pub extra_query: crate::extra_query::QueryParams,
    /// The tenant the caller asked for, if any.
    pub tenant: Option<String>,
}

impl SilentInput<'_> {
    /// Whether the cached token may be served: no force_refresh, no claims challenge.
    pub(crate) fn may_use_cache(&self) -> bool {
        may_use_cache(self.force_refresh, self.claims.as_deref())
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
    let extra_query = crate::extra_query::merge(&core.extra_query, &input.extra_query)?;
    let (tenant_authority, tenant_override) = match input.policy.as_deref() {
        Some(policy) => (Some(core.policy_authority(policy)?), false),
        None => match explicit_tenant(core, input.tenant.as_deref())? {
            Some(authority) => (Some(authority), true),
            None => (core.request_authority(input.account), false),
        },
    };
    Ok(SilentParams {
        extra_query,
        bypass_cache,
        raw_scopes: input.scopes,
        requested,
        match_scopes,
        tenant_authority,
        tenant_override,
        memo_tenant: memo_tenant(input.tenant.as_deref()).map(str::to_owned),
        account: input.account.clone(),
        claims,
        correlation_id,
        own_partition: core.is_confidential(),
        validated_generation: None,
        scheme: None,
    })
}
