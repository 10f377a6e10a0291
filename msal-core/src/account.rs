//! Accounts: who a set of cached tokens belongs to.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::tenant_profile::TenantProfile;

/// A signed-in account, as listed from the cache.
///
/// `home_account_id` (`{uid}.{utid}` on Entra, the `sub` claim elsewhere) identifies the user
/// across tenants; `environment` is the host the account signed in at.
///
/// Two accounts are equal (and hash alike) when their fields are; their
/// [`tenant_profiles`](Account::tenant_profiles), a view of the cache when the account was
/// read, are not compared.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Account {
    /// The account's id across tenants: `{uid}.{utid}` on Entra ID.
    pub home_account_id: String,
    /// The host the account was signed in at (`login.microsoftonline.com`).
    pub environment: String,
    /// The sign-in name (`preferred_username`, else `upn`, else `email`; may be empty).
    pub username: String,
    /// The account's object id in `tenant_id` (`oid`, else `sub`).
    pub local_account_id: String,
    /// The tenant the account entry was written for (the cache entry's `realm`).
    pub tenant_id: String,
    /// Display name, when the ID token had one.
    pub name: Option<String>,
    /// The tenants the account has tokens in (shared: cloning an account stays cheap).
    tenant_profiles: Option<Arc<[TenantProfile]>>,
}

impl PartialEq for Account {
    fn eq(&self, other: &Self) -> bool {
        self.home_account_id == other.home_account_id
            && self.environment == other.environment
            && self.username == other.username
            && self.local_account_id == other.local_account_id
            && self.tenant_id == other.tenant_id
            && self.name == other.name
    }
}

impl Eq for Account {}

impl Hash for Account {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.home_account_id.hash(state);
        self.environment.hash(state);
        self.username.hash(state);
        self.local_account_id.hash(state);
        self.tenant_id.hash(state);
        self.name.hash(state);
    }
}

impl Account {
    /// An account with the given identifiers and nothing else; mostly for tests and tools.
    pub fn new(
        home_account_id: impl Into<String>,
        environment: impl Into<String>,
        username: impl Into<String>,
    ) -> Self {
        Account {
            home_account_id: home_account_id.into(),
            environment: environment.into(),
            username: username.into(),
            local_account_id: String::new(),
            tenant_id: String::new(),
            name: None,
            tenant_profiles: None,
        }
    }

    /// The tenants this account has ID tokens in for this app (MSAL.NET's
    /// `GetTenantProfiles`): its home tenant and each tenant it is a guest in, with that
    /// tenant's claims. Empty for an account that was not read from the cache.
    ///
    /// ```
    /// # fn show(account: &msal_core::Account) {
    /// for profile in account.tenant_profiles() {
    ///     let kind = if profile.is_home_tenant() { "home" } else { "guest" };
    ///     println!("{} ({kind}): object id {}", profile.tenant_id(), profile.local_account_id());
    /// }
    /// # }
    /// ```
    pub fn tenant_profiles(&self) -> &[TenantProfile] {
        self.tenant_profiles.as_deref().unwrap_or(&[])
    }

    /// The same account with these tenant profiles (set by whoever reads the account from the
    /// cache).
    pub fn with_tenant_profiles(mut self, profiles: Vec<TenantProfile>) -> Self {
        self.tenant_profiles = (!profiles.is_empty()).then(|| Arc::from(profiles));
        self
    }

    /// The home tenant: the part of `home_account_id` after the last `.` (Entra's `utid`).
    pub fn home_tenant_id(&self) -> Option<&str> {
        self.home_account_id
            .rsplit_once('.')
            .map(|(_, utid)| utid)
            .filter(|t| !t.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_tenant_is_the_utid() {
        assert_eq!(Account::new("u.t", "e", "n").home_tenant_id(), Some("t"));
        assert_eq!(Account::new("subject", "e", "n").home_tenant_id(), None);
    }
}
