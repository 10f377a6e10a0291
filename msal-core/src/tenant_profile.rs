//! Tenant profiles: one account, seen from each tenant it has tokens in (MSAL.NET's
//! `IAccount.GetTenantProfiles`).
//!
//! A user of Entra ID has one home tenant and may be a guest in others; each tenant gives the
//! user an object id of its own (`oid`) and issues its own ID token. The cache keeps one
//! account entry and one ID token per tenant (its `realm`); a profile is one of those.

use std::sync::{Arc, OnceLock};

use crate::id_token::IdTokenClaims;

/// One tenant an [`Account`](crate::Account) has signed in to (or got tokens in silently).
///
/// Cheap to clone. The ID token's claims are decoded the first time they are asked for, so
/// listing accounts or serving a token does not pay for claims nobody reads. `Debug` shows the
/// tenant and ids, never the ID token.
#[derive(Clone)]
pub struct TenantProfile {
    tenant_id: String,
    local_account_id: String,
    home_tenant_id: Option<String>,
    id_token: Option<Arc<str>>,
    claims: Arc<OnceLock<Option<IdTokenClaims>>>,
}

impl TenantProfile {
    /// A profile for `tenant_id` (the cache entry's realm: a tenant id, or the domain name the
    /// app asked for), where the user's object id is `local_account_id`. `home_tenant_id` is
    /// the account's home tenant (the `utid` of its home account id), if it has one.
    pub fn new(
        tenant_id: impl Into<String>,
        local_account_id: impl Into<String>,
        home_tenant_id: Option<&str>,
    ) -> Self {
        TenantProfile {
            tenant_id: tenant_id.into(),
            local_account_id: local_account_id.into(),
            home_tenant_id: home_tenant_id.filter(|t| !t.is_empty()).map(str::to_owned),
            id_token: None,
            claims: Arc::default(),
        }
    }

    /// The same profile with the tenant's ID token (a compact JWT), whose claims
    /// [`claims`](Self::claims) returns.
    pub fn with_id_token(mut self, id_token: impl Into<Arc<str>>) -> Self {
        self.id_token = Some(id_token.into());
        self.claims = Arc::default();
        self
    }

    /// The tenant, as the cache names it: a tenant id, or the domain name a request gave.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The user's object id in this tenant (`oid`, else `sub`).
    pub fn local_account_id(&self) -> &str {
        &self.local_account_id
    }

    /// The user's object id in this tenant from the ID token (`oid`), if it has one.
    pub fn oid(&self) -> Option<&str> {
        self.claims().and_then(|c| c.oid.as_deref())
    }

    /// Whether this is the user's home tenant (where the account lives; the others are guest
    /// profiles): the tenant is the home account id's `utid`, or its ID token's `tid` is.
    pub fn is_home_tenant(&self) -> bool {
        let Some(home) = self.home_tenant_id.as_deref() else {
            return false;
        };
        self.tenant_id.eq_ignore_ascii_case(home)
            || self
                .claims()
                .and_then(|c| c.tid.as_deref())
                .is_some_and(|tid| tid.eq_ignore_ascii_case(home))
    }

    /// The claims of this tenant's ID token (`oid`, `tid`, `preferred_username`, `name`, ...
    /// and every other claim in `extra`), if the cache holds one for this app and it decodes.
    pub fn claims(&self) -> Option<&IdTokenClaims> {
        self.claims
            .get_or_init(|| {
                self.id_token
                    .as_deref()
                    .and_then(|jwt| IdTokenClaims::decode(jwt).ok())
            })
            .as_ref()
    }
}

impl PartialEq for TenantProfile {
    /// Profiles are equal when they name the same tenant, user and home tenant (the ID token
    /// is what they were built from, not what they are).
    fn eq(&self, other: &Self) -> bool {
        self.tenant_id.eq_ignore_ascii_case(&other.tenant_id)
            && self.local_account_id == other.local_account_id
            && self.home_tenant_id == other.home_tenant_id
    }
}

impl Eq for TenantProfile {}

impl std::fmt::Debug for TenantProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantProfile")
            .field("tenant_id", &self.tenant_id)
            .field("local_account_id", &self.local_account_id)
            .field("is_home_tenant", &self.is_home_tenant())
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn jwt(payload: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64(r#"{"alg":"none"}"#), b64(payload))
    }

    #[test]
    fn home_is_the_utid_or_the_id_tokens_tid() {
        let home = TenantProfile::new("home-tid", "oid-a", Some("home-tid"));
        assert!(home.is_home_tenant());
        let guest = TenantProfile::new("guest-tid", "oid-b", Some("home-tid"))
            .with_id_token(jwt(r#"{"tid":"guest-tid","oid":"oid-b"}"#));
        assert!(!guest.is_home_tenant());
        assert_eq!(guest.oid(), Some("oid-b"));
        // Cached under the domain the app asked for: the ID token says which tenant it is.
        let by_domain = TenantProfile::new("contoso.com", "oid-a", Some("home-tid"))
            .with_id_token(jwt(r#"{"tid":"home-tid"}"#));
        assert!(by_domain.is_home_tenant());
        assert!(!TenantProfile::new("t", "o", None).is_home_tenant());
    }

    #[test]
    fn a_bad_id_token_means_no_claims_and_debug_never_shows_it() {
        let p = TenantProfile::new("t", "o", Some("t")).with_id_token("not-a-jwt-secret");
        assert!(p.claims().is_none());
        let debug = format!("{p:?}");
        assert!(!debug.contains("not-a-jwt-secret"), "{debug}");
        assert!(debug.contains("[redacted]"));
    }
}
