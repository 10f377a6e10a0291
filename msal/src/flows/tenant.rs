//! The tenant a user request names (`.tenant(..)`, MSAL.NET's `WithTenantId`): which
//! authority it goes to, how the hit memo keys it, and the account entry a guest tenant's
//! first token writes.

use std::sync::Arc;

use msal_core::Authority;

use crate::client_core::ClientCore;
use crate::write_back::Checked;
use crate::Error;

/// The authority of a tenant the caller named, or `None` for the account's own (no tenant, or
/// `common`/`organizations`, which for a user's token mean the home tenant, as in MSAL.NET).
pub(crate) fn explicit_tenant(
    core: &ClientCore,
    tenant: Option<&str>,
) -> Result<Option<Arc<Authority>>, Error> {
    if tenant.is_none_or(|t| t.trim().is_empty()) {
        return Ok(None);
    }
    let authority = crate::flows::app_token::request_authority(core, tenant)?;
    Ok((!authority.is_multi_tenant()).then_some(authority))
}

/// The tenant named by a silent request, as the hit memo keys it (see [`explicit_tenant`]).
pub(crate) fn memo_tenant(tenant: Option<&str>) -> Option<&str> {
    tenant.map(str::trim).filter(|t| {
        !t.is_empty()
            && !t.eq_ignore_ascii_case("common")
            && !t.eq_ignore_ascii_case("organizations")
    })
}

/// The account entry for a tenant's profile, from that tenant's ID token (`None` without one).
pub(crate) fn tenant_account_entry(
    home_account_id: &str,
    environment: &str,
    realm: &str,
    checked: &Checked,
) -> Option<msal_cache::schema::AccountEntry> {
    let claims = checked.claims.as_ref()?;
    Some(msal_cache::schema::AccountEntry {
        home_account_id: home_account_id.into(),
        environment: environment.into(),
        realm: realm.into(),
        local_account_id: claims.local_account_id().unwrap_or(home_account_id).into(),
        username: claims.username().unwrap_or("").into(),
        authority_type: "MSSTS".into(),
        account_source: None,
        name: claims.name.as_deref().map(Into::into),
        extra: Default::default(),
    })
}
